-- id: 25
-- name_zh: 每名执业医师日均住院工作负担
-- name_en: Daily inpatient workload per licensed physician
-- dimension: 运营效率 / 资源效率
-- national_monitoring: no
-- direction: monitor
-- unit: 床日
-- factor: 1
-- source: 病案首页 (bed-days) + staff master data (physicians per department)
-- numerator: 实际占用总床日数 (bed-days of discharged patients)
-- denominator: 执业(助理)医师人数 × days, summed over the department-months with discharges
-- rule: national rule: 全年实际占用总床日数 / (平均执业医师人数 × 365); here physician-days are counted per department and month
-- configurable: none
-- unconfirmed: yes (physician headcount is the current staff list, not the yearly average; department-months without discharges add no physician-days)
WITH month_dept AS (
  SELECT date_trunc('month', day) AS month, department, sum(los_days) AS bed_days, count(*) AS discharges
  FROM discharge GROUP BY 1, 2
), physicians AS (
  SELECT department, count(*) AS n FROM ref_staff WHERE role = 'physician' GROUP BY department
)
SELECT department || '/' || strftime(m.month, '%Y-%m') AS case_id, CAST(m.month AS DATE) AS day, m.department,
       m.bed_days AS numerator,
       coalesce(p.n, 0) * date_diff('day', m.month, m.month + INTERVAL 1 MONTH) AS denominator,
       m.bed_days || ' bed-days; ' || coalesce(p.n, 0) || ' physicians × '
         || date_diff('day', m.month, m.month + INTERVAL 1 MONTH) || ' days' AS rule
FROM month_dept m LEFT JOIN physicians p USING (department)

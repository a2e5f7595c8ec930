-- id: 27
-- name_zh: 门诊收入占医疗收入比例
-- name_en: Outpatient income as share of medical income
-- dimension: 运营效率 / 收支结构
-- national_monitoring: no
-- direction: monitor
-- unit: %
-- factor: 100
-- source: HIS outpatient register (visit totals) + 病案首页 (inpatient total cost) — shadow value of the financial report
-- numerator: 门诊收入 (charges of outpatient and emergency visits)
-- denominator: 医疗收入 (outpatient income + inpatient income of discharges)
-- rule: income attributed to the month and department of the consultation or discharge
-- configurable: none
-- unconfirmed: no (must reconcile with the audited financial report)
SELECT encounter_id AS case_id, day, department, total AS numerator, total AS denominator, 'outpatient income ' || total AS rule
FROM visit
UNION ALL
SELECT encounter_id, day, department, 0, total, 'inpatient income ' || total FROM discharge

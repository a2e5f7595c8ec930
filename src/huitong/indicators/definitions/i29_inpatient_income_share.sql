-- id: 29
-- name_zh: 住院收入占医疗收入比例
-- name_en: Inpatient income as share of medical income
-- dimension: 运营效率 / 收支结构
-- national_monitoring: no
-- direction: monitor
-- unit: %
-- factor: 100
-- source: 病案首页 (total cost) + HIS outpatient register — shadow value of the financial report
-- numerator: 住院收入 (total cost of discharges)
-- denominator: 医疗收入 (outpatient income + inpatient income)
-- rule: income attributed to the month and department of the discharge or consultation
-- configurable: none
-- unconfirmed: no (must reconcile with the audited financial report)
SELECT encounter_id AS case_id, day, department, total AS numerator, total AS denominator, 'inpatient income ' || total AS rule
FROM discharge
UNION ALL
SELECT encounter_id, day, department, 0, total, 'outpatient income ' || total FROM visit

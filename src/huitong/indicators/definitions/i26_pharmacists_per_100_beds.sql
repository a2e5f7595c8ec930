-- id: 26
-- name_zh: 每百张病床药师人数
-- name_en: Pharmacists per 100 beds
-- dimension: 运营效率 / 资源效率
-- national_monitoring: no
-- direction: monitor
-- unit: 人
-- factor: 100
-- source: staff and department master data (imported CSV)
-- numerator: 医院药师（含药剂师和临床药师）总人数
-- denominator: 医院实际开放床位数 (Σ department beds)
-- rule: hospital level, year only; the current master data
-- configurable: none
-- unconfirmed: no
-- periods: year
-- scope: hospital
SELECT 'pharmacist ' || staff_id AS case_id, CAST($from AS DATE) AS day, NULL AS department,
       1 AS numerator, 0 AS denominator, 'pharmacist, ' || department AS rule
FROM ref_staff WHERE role = 'pharmacist'
UNION ALL
SELECT 'department ' || code, CAST($from AS DATE), NULL, 0, CAST(beds AS DOUBLE), code || ': ' || beds || ' open beds'
FROM ref_department

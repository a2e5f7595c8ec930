-- id: 46
-- name_zh: 医护比
-- name_en: Physician-to-nurse ratio
-- dimension: 持续发展 / 人员结构
-- national_monitoring: yes
-- direction: monitor
-- unit: 比值
-- factor: 1
-- source: staff master data
-- numerator: 医院注册医师总数
-- denominator: 全院同期注册护士总数
-- rule: physicians per nurse (1 : x is its reciprocal); hospital level, year only
-- configurable: none
-- unconfirmed: no
-- periods: year
-- scope: hospital
SELECT staff_id AS case_id, CAST($from AS DATE) AS day, NULL AS department,
       CASE WHEN role = 'physician' THEN 1 ELSE 0 END AS numerator,
       CASE WHEN role = 'nurse' THEN 1 ELSE 0 END AS denominator, role AS rule
FROM ref_staff WHERE role IN ('physician', 'nurse')

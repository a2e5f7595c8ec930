-- id: 22
-- name_zh: 门诊患者平均预约诊疗率
-- name_en: Outpatient appointment rate
-- dimension: 医疗质量 / 服务流程
-- national_monitoring: no
-- direction: higher
-- unit: %
-- factor: 100
-- source: HIS outpatient register
-- numerator: 预约诊疗人次数 (booked by app, web, phone, on-site registration, two-way referral …)
-- denominator: 总诊疗人次数 (outpatient visits; emergency visits excluded)
-- rule: a visit is booked when the register marks it as an appointment
-- configurable: emergency visits are excluded from the denominator
-- unconfirmed: yes (denominator exclusions)
SELECT encounter_id AS case_id, day, department, CASE WHEN appointment THEN 1 ELSE 0 END AS numerator,
       1 AS denominator,
       CASE WHEN appointment THEN 'booked via ' || coalesce(channel, '?') ELSE 'walk-in' END AS rule
FROM visit WHERE class = 'AMB'

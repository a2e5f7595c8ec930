-- id: 23
-- name_zh: 门诊患者预约后平均等待时间
-- name_en: Average waiting time after appointment
-- dimension: 医疗质量 / 服务流程
-- national_monitoring: no
-- direction: lower
-- unit: 分钟
-- factor: 1
-- source: HIS outpatient register (报到 and 进入诊室 times)
-- numerator: Σ(患者进入诊室诊疗时间 − 到达分诊台或通过信息系统报到时间), minutes
-- denominator: 预约诊疗人次数 (booked outpatient visits)
-- rule: minute precision from the outpatient system; the wait starts at check-in
-- configurable: none (the rule for early arrivals, start at slot time, is not applied)
-- unconfirmed: yes (early-arrival rule)
SELECT encounter_id AS case_id, day, department,
       date_diff('second', checked_in_at, consultation_at) / 60.0 AS numerator, 1 AS denominator,
       'waited ' || round(date_diff('second', checked_in_at, consultation_at) / 60.0, 1) || ' min' AS rule
FROM visit WHERE class = 'AMB' AND appointment AND checked_in_at IS NOT NULL

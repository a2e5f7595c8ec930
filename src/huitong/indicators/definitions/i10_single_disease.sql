-- id: 10
-- name_zh: 单病种质量控制
-- name_en: Single-disease quality control
-- dimension: 医疗质量 / 质量安全
-- national_monitoring: yes
-- direction: monitor
-- unit: 多项
-- factor: 1
-- source: 病案首页
-- numerator: per disease or operation: cases; bed-days; total cost; deaths
-- denominator: per disease or operation: (none) for cases; discharges for the averages and the mortality
-- rule: diseases by principal-diagnosis prefix (AMI I21, heart failure I50, pneumonia J13–J15/J18 in adults 18+, ischaemic stroke I63); operations by ICD-9-CM-3 code of any operation (hip 81.51/81.52, knee 81.54, caesarean 74.1, CABG 36.13)
-- configurable: the disease list below (VALUES); the adult age for pneumonia ($adult_age, default 18)
-- unconfirmed: yes (official disease list differs between manuals)
-- param adult_age: 18
-- sub_units: cases=例|1|count; alos=天|1; cost=元|1; mortality=%|100
-- sub_names: ami=急性心肌梗死; heart_failure=心力衰竭; pneumonia=社区获得性肺炎(成人); stroke=脑梗死; hip_replacement=髋关节置换术; knee_replacement=膝关节置换术; caesarean=剖宫产; cabg=冠状动脉旁路移植术; cases=例数; alos=平均住院日; cost=次均费用; mortality=病死率
WITH disease(key, prefixes, procedures, adults_only) AS (
  VALUES ('ami', ['I21'], []::VARCHAR[], false),
         ('heart_failure', ['I50'], []::VARCHAR[], false),
         ('pneumonia', ['J18', 'J13', 'J14', 'J15'], []::VARCHAR[], true),
         ('stroke', ['I63'], []::VARCHAR[], false),
         ('hip_replacement', []::VARCHAR[], ['81.51', '81.52'], false),
         ('knee_replacement', []::VARCHAR[], ['81.54'], false),
         ('caesarean', []::VARCHAR[], ['74.1'], false),
         ('cabg', []::VARCHAR[], ['36.13'], false)
), hits AS (
  SELECT d.*, s.key,
         CASE WHEN len(s.prefixes) > 0 THEN 'principal diagnosis ' || d.principal ELSE 'operation ' || o.codes END AS why
  FROM discharge d CROSS JOIN disease s
  LEFT JOIN (SELECT encounter_id, list(code) AS code_list, string_agg(code, ', ') AS codes
             FROM operation WHERE is_operation GROUP BY encounter_id) o ON o.encounter_id = d.encounter_id
  WHERE CASE WHEN len(s.prefixes) > 0
             THEN list_bool_or(list_transform(s.prefixes, lambda x: starts_with(coalesce(d.principal, ''), x)))
             ELSE coalesce(len(list_intersect(o.code_list, s.procedures)) > 0, false) END
    AND (NOT s.adults_only OR d.age_years >= $adult_age)
)
SELECT encounter_id AS case_id, day, department, key || '.cases' AS sub_id, 1 AS numerator, NULL AS denominator, why AS rule FROM hits
UNION ALL
SELECT encounter_id, day, department, key || '.alos', los_days, 1, why || ', ' || los_days || ' bed-days' FROM hits
UNION ALL
SELECT encounter_id, day, department, key || '.cost', total, 1, why || ', cost ' || total FROM hits
UNION ALL
SELECT encounter_id, day, department, key || '.mortality', CASE WHEN disposition = '5' THEN 1 ELSE 0 END, 1,
       why || CASE WHEN disposition = '5' THEN ', died' ELSE ', survived' END FROM hits

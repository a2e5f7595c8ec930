-- id: 31
-- name_zh: 医疗服务收入（不含药品、耗材、检查检验收入）占医疗收入比例
-- name_en: Medical service income (excl. drugs, consumables, tests) as share of medical income
-- dimension: 运营效率 / 收支结构
-- national_monitoring: yes
-- direction: higher
-- unit: %
-- factor: 100
-- source: HIS itemised charges with the charge dictionary's income categories
-- numerator: 医疗服务收入 (挂号, 床位, 诊察, 治疗, 手术, 药事服务, 护理 … income categories flagged medical_service)
-- denominator: 医疗收入 (all charges of discharges and visits)
-- rule: income category of each charge item from the charge dictionary (ref_charge_item.medical_service)
-- configurable: which income categories are medical services (ref_charge_item.medical_service)
-- unconfirmed: yes (item list)
SELECT encounter_id AS case_id, day, department, coalesce(service, 0) AS numerator, total AS denominator,
       setting || ': service income ' || round(coalesce(service, 0), 2) || ' of ' || round(total, 2) AS rule
FROM encounter_income

-- Shared tables over the flattened FHIR tables (ht_*) and the reference tables (ref_*), used by every definition.
-- Times are local (Beijing) as written on the front page and in the HIS; a case belongs to the month of its
-- discharge (inpatient) or consultation (outpatient), and to the discharging or consulting department.
CREATE OR REPLACE TEMP TABLE principal_diagnosis AS
SELECT r.encounter_id, dx.code, dx.name
FROM ht_discharge_diagnosis_rank r JOIN ht_diagnosis dx ON dx.condition_id = r.condition_id
WHERE r.rank = 1;

CREATE OR REPLACE TEMP TABLE discharge AS
SELECT d.encounter_id, d.inpatient_no, d.mrn,
       CAST(substr(d.admitted, 1, 19) AS TIMESTAMP) AS admitted_at,
       CAST(substr(d.discharged, 1, 19) AS TIMESTAMP) AS discharged_at,
       CAST(substr(d.discharged, 1, 10) AS DATE) AS day,
       regexp_replace(d.department, '^dept-', '') AS department,
       d.admit_department, d.disposition, d.admission_route,
       CAST(d.los_days AS DOUBLE) AS los_days, d.age_years,
       c.total, c.fund_paid, c.self_paid,
       p.code AS principal, p.name AS principal_name
FROM ht_discharge d
LEFT JOIN ht_inpatient_cost c ON c.encounter_id = d.encounter_id
LEFT JOIN principal_diagnosis p ON p.encounter_id = d.encounter_id;

CREATE OR REPLACE TEMP TABLE operation AS
SELECT o.procedure_id, o.encounter_id, o.code, o.name, o.level, o.incision_class, o.healing_grade,
       coalesce(o.elective, false) AS elective, coalesce(o.day_surgery, false) AS day_surgery,
       p.category, coalesce(p.minimally_invasive = '1', false) AS minimally_invasive,
       coalesce(p.category IN ('surgery', 'intervention'), false) AS is_operation,
       d.day, d.department, d.principal
FROM ht_operation o
JOIN discharge d ON d.encounter_id = o.encounter_id
LEFT JOIN ref_procedure p ON p.code = o.code;

CREATE OR REPLACE TEMP TABLE visit AS
SELECT v.encounter_id, v.visit_no, v.class,
       regexp_replace(v.department, '^dept-', '') AS department,
       coalesce(v.appointment, false) AS appointment, v.channel,
       CAST(substr(v.checked_in_at, 1, 19) AS TIMESTAMP) AS checked_in_at,
       CAST(substr(v.consultation_at, 1, 19) AS TIMESTAMP) AS consultation_at,
       CAST(substr(v.consultation_at, 1, 10) AS DATE) AS day,
       v.total, v.fund_paid
FROM ht_outpatient_visit v;

CREATE OR REPLACE TEMP TABLE income_category AS
SELECT income_category, bool_or(medical_service = '1') AS medical_service
FROM ref_charge_item GROUP BY income_category;

CREATE OR REPLACE TEMP TABLE encounter_charge AS
SELECT ch.encounter_id, ch.item_code, ch.income_category, CAST(ch.amount AS DOUBLE) AS amount,
       coalesce(d.day, v.day) AS day, coalesce(d.department, v.department) AS department,
       CASE WHEN d.encounter_id IS NOT NULL THEN 'inpatient' ELSE 'outpatient' END AS setting,
       coalesce(ic.medical_service, false) AS medical_service
FROM ht_charge ch
LEFT JOIN discharge d ON d.encounter_id = ch.encounter_id
LEFT JOIN visit v ON v.encounter_id = ch.encounter_id
LEFT JOIN income_category ic ON ic.income_category = ch.income_category
WHERE d.encounter_id IS NOT NULL OR v.encounter_id IS NOT NULL;

CREATE OR REPLACE TEMP TABLE encounter_income AS
SELECT encounter_id, any_value(day) AS day, any_value(department) AS department, any_value(setting) AS setting,
       sum(amount) AS total,
       sum(amount) FILTER (WHERE medical_service) AS service
FROM encounter_charge GROUP BY encounter_id;

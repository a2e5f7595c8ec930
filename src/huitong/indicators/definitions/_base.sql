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

-- Pharmacy (RDE/RAS) and PACS (ORU) records carry the HL7 visit number (PV1-19): it links them to the
-- front-page discharge (inpatient number ZYH) or the register visit (visit number) they belong to.
CREATE OR REPLACE TEMP TABLE encounter_link AS
SELECT e.encounter_id, e.visit_no, any_value(d.encounter_id) AS discharge_id, any_value(v.encounter_id) AS visit_id
FROM ht_encounter_visit e
LEFT JOIN discharge d ON d.inpatient_no = e.visit_no
LEFT JOIN visit v ON v.visit_no = e.visit_no
GROUP BY e.encounter_id, e.visit_no;

-- The drug dictionary: DDD per product (WHO ATC/DDD) and the antimicrobial, essential-medicine and
-- volume-based-procurement (集采) flags; generics with at least one VBP product (indicator 21).
CREATE OR REPLACE TEMP TABLE drug AS
SELECT code, generic_zh, TRY_CAST(nullif(strength, '') AS DOUBLE) AS strength, dose_unit,
       TRY_CAST(nullif(ddd, '') AS DOUBLE) AS ddd, ddd_unit,
       coalesce(antimicrobial = '1', false) AS antimicrobial, coalesce(essential = '1', false) AS essential,
       coalesce(vbp = '1', false) AS vbp
FROM ref_drug;

CREATE OR REPLACE TEMP TABLE vbp_generic AS SELECT DISTINCT generic_zh FROM drug WHERE vbp;

-- Defined daily doses in an amount of a drug: mass units are converted (g, mg, ug), other units must equal
-- the DDD's unit (U, mL); no DDD or incomparable units give 0.
CREATE OR REPLACE TEMP MACRO ddd_count(amount, unit, ddd, ddd_unit) AS
CASE
  WHEN amount IS NULL OR ddd IS NULL OR ddd = 0 THEN 0.0
  WHEN unit IN ('g', 'mg', 'ug', 'mcg') AND ddd_unit IN ('g', 'mg', 'ug', 'mcg') THEN
    amount * (CASE unit WHEN 'g' THEN 1000.0 WHEN 'mg' THEN 1.0 ELSE 0.001 END)
    / (ddd * (CASE ddd_unit WHEN 'g' THEN 1000.0 WHEN 'mg' THEN 1.0 ELSE 0.001 END))
  WHEN unit = ddd_unit THEN amount / ddd
  ELSE 0.0
END;

-- Administrations (RAS^O17) with their DDDs and flags; not-done and erroneous ones are left out.
CREATE OR REPLACE TEMP TABLE med_administration AS
SELECT a.administration_id, a.request_id, a.drug_code, dr.generic_zh,
       CAST(substr(coalesce(a.given_at, a.given_from), 1, 19) AS TIMESTAMP) AS given_at,
       CAST(a.dose AS DOUBLE) AS dose, a.dose_unit,
       ddd_count(CAST(a.dose AS DOUBLE), a.dose_unit, dr.ddd, dr.ddd_unit) AS ddds,
       coalesce(dr.antimicrobial, false) AS antimicrobial, coalesce(dr.essential, false) AS essential,
       coalesce(dr.vbp, false) AS vbp, coalesce(dr.generic_zh IN (SELECT generic_zh FROM vbp_generic), false) AS vbp_generic,
       l.discharge_id, l.visit_id
FROM ht_medication_administration a
LEFT JOIN encounter_link l ON l.encounter_id = a.encounter_id
LEFT JOIN drug dr ON dr.code = a.drug_code
WHERE coalesce(a.status, 'completed') NOT IN ('not-done', 'entered-in-error');

-- Orders and prescription items (RDE^O11) with the DDDs dispensed (packs × strength); cancelled and erroneous
-- ones are left out.
CREATE OR REPLACE TEMP TABLE med_order AS
SELECT r.request_id, r.drug_code, dr.generic_zh,
       CAST(substr(r.authored, 1, 19) AS TIMESTAMP) AS authored_at,
       CAST(r.dose AS DOUBLE) AS dose, r.dose_unit, CAST(r.dispensed AS DOUBLE) AS dispensed,
       ddd_count(CAST(r.dispensed AS DOUBLE) * dr.strength, dr.dose_unit, dr.ddd, dr.ddd_unit) AS dispensed_ddds,
       coalesce(dr.antimicrobial, false) AS antimicrobial, coalesce(dr.essential, false) AS essential,
       coalesce(dr.vbp, false) AS vbp, coalesce(dr.generic_zh IN (SELECT generic_zh FROM vbp_generic), false) AS vbp_generic,
       l.discharge_id, l.visit_id
FROM ht_medication_request r
LEFT JOIN encounter_link l ON l.encounter_id = r.encounter_id
LEFT JOIN drug dr ON dr.code = r.drug_code
WHERE coalesce(r.status, 'active') NOT IN ('cancelled', 'entered-in-error');

-- Imaging reports (one row per report) with the exam's large-equipment flag and the flag of the impression;
-- an exam belongs to the month it was performed and to the department that ordered it (the admitting
-- department for inpatients, the clinic for outpatients).
CREATE OR REPLACE TEMP TABLE imaging AS
SELECT r.report_id, any_value(r.exam_code) AS exam_code, any_value(r.section) AS section,
       CAST(substr(any_value(r.performed), 1, 19) AS TIMESTAMP) AS performed_at,
       CAST(substr(any_value(r.performed), 1, 10) AS DATE) AS day,
       coalesce(any_value(d.admit_department), any_value(v.department)) AS department,
       coalesce(bool_or(x.large_equipment = '1'), false) AS large_equipment,
       string_agg(DISTINCT i.interpretation, ',') AS interpretations,
       any_value(r.conclusion_code) AS conclusion_code, any_value(i.impression) AS impression,
       any_value(l.visit_no) AS visit_no
FROM ht_imaging_report r
LEFT JOIN ht_report_impression i ON i.observation_id = r.observation_id
LEFT JOIN encounter_link l ON l.encounter_id = r.encounter_id
LEFT JOIN discharge d ON d.encounter_id = l.discharge_id
LEFT JOIN visit v ON v.encounter_id = l.visit_id
LEFT JOIN ref_imaging_exam x ON x.code = r.exam_code
WHERE coalesce(r.status, 'final') IN ('final', 'amended', 'corrected', 'appended')
GROUP BY r.report_id;

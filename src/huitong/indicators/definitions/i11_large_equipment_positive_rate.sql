-- id: 11
-- name_zh: 大型医用设备检查阳性率
-- name_en: Positive rate of large medical equipment examinations
-- dimension: 医疗质量 / 质量安全
-- national_monitoring: no
-- direction: monitor
-- unit: %
-- factor: 100
-- source: PACS reports (HL7 ORU^R01: exam code, OBX-8 abnormal flag on the impression) + imaging exam list
-- numerator: 大型医用设备检查阳性数: large-equipment exams whose report impression is flagged positive
-- denominator: 同期大型医用设备检查人次数: reported exams (final, amended or corrected) on large equipment (CT, MR, PET …)
-- rule: large equipment per the imaging exam list (ref_imaging_exam.large_equipment); an exam is positive when its impression's interpretation (OBX-8) or the report's conclusion code is one of $positive_flags; counted in the month the exam was performed, for the ordering department (admitting department of an inpatient, clinic of an outpatient)
-- configurable: $positive_flags (default A, abnormal); the large-equipment list (ref_imaging_exam.large_equipment)
-- unconfirmed: yes (the manual counts 人次; reports without a structured flag count as negative)
-- param positive_flags: A
SELECT report_id AS case_id, day, department,
       CASE WHEN positive THEN 1 ELSE 0 END AS numerator, 1 AS denominator,
       exam_code || CASE WHEN positive THEN ' positive: ' ELSE ' negative: ' END || coalesce(impression, '?')
       || CASE WHEN visit_no IS NOT NULL THEN ' (' || visit_no || ')' ELSE '' END AS rule
FROM (
  SELECT *, list_has_any(string_split(coalesce(interpretations, '') || ',' || coalesce(conclusion_code, ''), ','),
                         string_split(CAST($positive_flags AS VARCHAR), ',')) AS positive
  FROM imaging WHERE large_equipment
)

"""National identifier and code-system URIs: the OIDs of China's health information standards, named once.

WS 363 (卫生信息数据元目录, the health information data element catalogue) defines the national data elements
such as 居民身份证号码 or 住院号; WS/T 500 (电子病历共享文档规范, the shared EMR document specification) is
the set of CDA documents that carry them, and names each identifier namespace and each code table by an OID
under the National Health Commission's root ``2.16.156.10011``: ``.1.n`` for identifiers, ``.2.3.n`` for
code tables (value sets). FHIR writes an OID as ``urn:oid:<OID>`` in ``Identifier.system`` and
``Coding.system``; the constants here are those URIs, as Huitong writes and recognises them.

Top-level, like :mod:`huitong.settings`, because every domain uses them, ``security`` included. Illustrative
OIDs of one (synthetic or demo) hospital stay with the code that invents them.
"""

from __future__ import annotations

# Identifiers (2.16.156.10011.1.n): Identifier.system

#: Resident identity card number, 居民身份证号码 (GB 11643).
RESIDENT_ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"
#: Health worker (staff) identifier, 医务人员编码.
STAFF_ID_SYSTEM = "urn:oid:2.16.156.10011.1.4"
#: Health care organisation code, 医疗卫生机构代码.
ORGANIZATION_ID_SYSTEM = "urn:oid:2.16.156.10011.1.5"
#: Outpatient / emergency visit number, 门（急）诊号.
OUTPATIENT_NO_SYSTEM = "urn:oid:2.16.156.10011.1.11"
#: Inpatient number, 住院号.
INPATIENT_NO_SYSTEM = "urn:oid:2.16.156.10011.1.12"
#: Medical record (case) number of the front page, 病案号.
MRN_SYSTEM = "urn:oid:2.16.156.10011.1.13"
#: Department code, 科室代码.
DEPARTMENT_ID_SYSTEM = "urn:oid:2.16.156.10011.1.26"
#: Ward (inpatient area) code, 病区代码.
WARD_ID_SYSTEM = "urn:oid:2.16.156.10011.1.27"

#: Identifier systems read as a resident identity card number (居民身份证号码): the national one, and
#: ``1.2.156.112606.1.1.1``, recognised (never written) since the first quality rules. Where that second OID
#: came from is not recorded; public 互联互通 (interoperability) message samples use it for department codes.
RESIDENT_ID_SYSTEMS = frozenset({RESIDENT_ID_SYSTEM, "urn:oid:1.2.156.112606.1.1.1"})

# Code tables (2.16.156.10011.2.3.n): Coding.system

#: Diagnosis, 疾病分类与代码 (ICD-10, GB/T 14396).
ICD10 = "urn:oid:2.16.156.10011.2.3.3.11"
#: Diagnosis code table as the WS/T 500 documents cite it, 诊断代码表 (ICD-10).
ICD10_DIAGNOSIS_TABLE = "urn:oid:2.16.156.10011.2.3.3.11.3"
#: Operation and procedure, 手术（操作）代码 (ICD-9-CM-3).
ICD9CM3 = "urn:oid:2.16.156.10011.2.3.3.12"
#: Condition on admission, 入院病情.
PRESENT_ON_ADMISSION = "urn:oid:2.16.156.10011.2.3.1.253"
#: Incision class, 手术切口类别.
INCISION_CLASS = "urn:oid:2.16.156.10011.2.3.1.256"
#: Incision healing grade, 切口愈合等级.
HEALING_GRADE = "urn:oid:2.16.156.10011.2.3.1.257"
#: Operation level, 手术级别.
OPERATION_LEVEL = "urn:oid:2.16.156.10011.2.3.1.258"
#: Discharge disposition, 离院方式.
DISPOSITION = "urn:oid:2.16.156.10011.2.3.1.265"
#: Admission route, 入院途径.
ADMISSION_ROUTE = "urn:oid:2.16.156.10011.2.3.1.270"

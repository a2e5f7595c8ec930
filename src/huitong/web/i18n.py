"""Interface text in Chinese (default) and English. Keys are English snake_case; every key has both languages."""

from __future__ import annotations

LANGUAGES = ("zh", "en")

TEXT: dict[str, tuple[str, str]] = {
    # shell
    "app_name": ("汇通智慧医院数据平台", "Huitong hospital data platform"),
    "switch_language": ("English", "中文"),
    "nav_home": ("首页", "Home"),
    "nav_doctor": ("医生工作台", "Doctor"),
    "nav_nurse": ("护士站", "Nurse station"),
    "nav_operations": ("运营管理", "Operations"),
    "nav_portal": ("患者服务", "Patient portal"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "empty": ("暂无数据", "Nothing to show"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "page": ("第 {n} 页", "Page {n}"),
    "error_title": ("出错了", "Something went wrong"),
    "forbidden": ("您的角色无权访问此页面。", "Your role may not open this page."),
    "not_found": ("未找到。", "Not found."),
    "loading": ("加载中…", "Loading…"),
    # doctor
    "my_patients": ("我的患者", "My patients"),
    "inpatients": ("在院患者", "Inpatients"),
    "outpatients_today": ("今日门诊", "Today's outpatients"),
    "patient": ("患者", "Patient"),
    "gender": ("性别", "Sex"),
    "age": ("年龄", "Age"),
    "ward": ("病区", "Ward"),
    "admitted": ("入院时间", "Admitted"),
    "diagnosis": ("诊断", "Diagnosis"),
    "open": ("打开", "Open"),
    "critical_values": ("危急值", "Critical values"),
    "critical_unacknowledged": ("待确认危急值", "Critical values awaiting acknowledgement"),
    "acknowledge": ("确认接收", "Acknowledge"),
    "acknowledged": ("已确认", "Acknowledged"),
    "minutes_to_ack": ("确认用时（分钟）", "Minutes to acknowledge"),
    "result": ("结果", "Result"),
    "reported": ("报告时间", "Reported"),
    "timeline": ("就诊时间轴", "Encounters"),
    "conditions": ("诊断", "Diagnoses"),
    "procedures": ("手术与操作", "Operations and procedures"),
    "orders": ("医嘱与申请", "Orders"),
    "results": ("检验检查结果", "Results"),
    "medications": ("用药", "Medications"),
    "documents": ("文书", "Documents"),
    "trend": ("趋势", "Trend"),
    "identifiers": ("标识", "Identifiers"),
    "birth_date": ("出生日期", "Birth date"),
    # nurse
    "bed_board": ("床位一览", "Bed board"),
    "occupied": ("占用", "Occupied"),
    "free": ("空床", "Free"),
    "cleaning": ("清洁中", "Cleaning"),
    "reserved": ("预留", "Reserved"),
    "admit": ("入住", "Admit"),
    "admit_patient": ("办理入住", "Admit a patient"),
    "patient_id": ("患者ID", "Patient id"),
    "bed": ("床位", "Bed"),
    "vital_signs": ("生命体征", "Vital signs"),
    "temperature": ("体温 (°C)", "Temperature (°C)"),
    "pulse": ("脉搏 (次/分)", "Pulse (/min)"),
    "save": ("保存", "Save"),
    "saved": ("已保存", "Saved"),
    # operations
    "bed_occupancy": ("床位使用率", "Bed occupancy"),
    "outpatient_flow": ("门诊就诊按小时", "Outpatient visits by hour"),
    "appointments": ("预约", "Appointments"),
    "integration": ("集成引擎", "Integration engine"),
    "data_quality": ("数据质量", "Data quality"),
    # portal
    "book": ("预约挂号", "Book an appointment"),
    "my_appointments": ("我的预约", "My appointments"),
    "cancel": ("取消", "Cancel"),
    "check_in": ("到院签到", "Check in"),
    "my_reports": ("我的报告", "My reports"),
    "survey": ("满意度调查", "Satisfaction survey"),
    "slot": ("号源", "Slot"),
    "department": ("科室", "Department"),
    "time": ("时间", "Time"),
    "status": ("状态", "Status"),
}


def translate(key: str, lang: str, **values: object) -> str:
    """The text of ``key`` in ``lang`` (Chinese when unknown), with ``{name}`` placeholders filled."""
    pair = TEXT.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    return text.format(**values) if values else text

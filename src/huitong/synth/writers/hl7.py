"""A small, strict HL7 v2.5 writer: escaping, segment assembly and the segments shared by every message.

Encoding characters are the standard ``|^~\\&``. Field values that come from data (names, addresses, free
text) are escaped: ``\\`` → ``\\E\\``, ``|`` → ``\\F\\``, ``^`` → ``\\S\\``, ``&`` → ``\\T\\``, ``~`` → ``\\R\\``,
and carriage return / line feed → ``\\X0D\\`` / ``\\X0A\\``. A message is its segments each ended by a carriage
return; in a stream file each message is followed by a line feed (which never occurs inside a message, in
UTF-8 or in GB 18030).
"""

from __future__ import annotations

from huitong.identifiers import RESIDENT_ID_SYSTEM
from huitong.synth.catalogues.departments import HOSPITAL_OID, WARD_BY_CODE
from huitong.synth.catalogues.staff import StaffMember
from huitong.synth.people import Person
from huitong.synth.places import Address
from huitong.synth.registration import Registration

FACILITY = f"HUITONG^{HOSPITAL_OID}^ISO"
#: MSH-18 values (HL7 table 0211) and the Python codec of each.
CHARSETS = {"utf-8": "UNICODE UTF-8", "gb18030": "GB 18030-2000"}
CODECS = {v: k for k, v in CHARSETS.items()}
#: Assigning authority of resident identity numbers (PID-3.4): the national system's OID.
RESIDENT_ID_AUTHORITY = f"CHN&{RESIDENT_ID_SYSTEM.removeprefix('urn:oid:')}&ISO"
#: Assigning authority of each system's local patient IDs (PID-3.4).
AUTHORITY = {
    "his": f"HIS&{HOSPITAL_OID}.1&ISO",
    "lis": f"LIS&{HOSPITAL_OID}.2&ISO",
    "pacs": f"PACS&{HOSPITAL_OID}.3&ISO",
    "emr": f"EMR&{HOSPITAL_OID}.4&ISO",
}
#: GB/T 2261.2 marital status → HL7 table 0002.
MARITAL = {"10": "S", "20": "M", "30": "W", "40": "D", "90": "U"}

_ESCAPES = str.maketrans(
    {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\", "\r": "\\X0D\\", "\n": "\\X0A\\"}
)
_SPECIAL = frozenset("\\|^&~\r\n")


def escape(value: str) -> str:
    """``value`` with HL7 delimiters escaped."""
    if _SPECIAL.isdisjoint(value):
        return value
    return value.translate(_ESCAPES)


def unescape(value: str) -> str:
    """Inverse of :func:`escape` (for tests and readers)."""
    if "\\" not in value:
        return value
    out = []
    i = 0
    table = {"E": "\\", "F": "|", "S": "^", "T": "&", "R": "~"}
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            end = value.index("\\", i + 1)
            token = value[i + 1 : end]
            out.append(table[token] if token in table else bytes.fromhex(token[1:]).decode("ascii"))
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def segment(name: str, *fields: str) -> str:
    """A segment with trailing empty fields removed."""
    values = list(fields)
    while values and not values[-1]:
        values.pop()
    return "|".join((name, *values))


def msh(app: str, receiver: str, ts: str, message_type: str, control_id: str, charset: str = "utf-8") -> str:
    """The MSH segment (version 2.5, original acknowledgement always, application acknowledgement never)."""
    return (
        f"MSH|^~\\&|{app}|{FACILITY}|{receiver}|{FACILITY}|{ts}||{message_type}|{control_id}|P|2.5|||AL|NE|CHN|"
        f"{CHARSETS[charset]}"
    )


def xcn(staff: StaffMember | None) -> str:
    """A staff member as XCN (ID^family^given)."""
    if staff is None:
        return ""
    text = _XCN.get(staff.staff_id)
    if text is None:
        text = _XCN[staff.staff_id] = f"{staff.staff_id}^{escape(staff.name[:1])}^{escape(staff.name[1:])}"
    return text


_XCN: dict[str, str] = {}


def xad(address: Address | None) -> str:
    """An address as XAD: street^^city^province^postcode^country^type^district^division code."""
    if address is None:
        return ""
    return (
        f"{escape(address.street)}^^{address.city}^{address.province}^{address.postcode}^CHN^H^"
        f"{address.district}^{address.division}"
    )


def pid(reg: Registration, *, death_ts: str = "") -> str:
    """The PID segment of a registration (cached unless it carries a death time)."""
    if not death_ts:
        cached = reg.pid_cache.get("pid")
        if cached is not None:
            return cached
    person: Person = reg.person
    ids = f"{escape(reg.local_id)}^^^{AUTHORITY[reg.system]}^PI"
    if reg.resident_id:
        ids += f"~{escape(reg.resident_id)}^^^{RESIDENT_ID_AUTHORITY}^NNCHN"
    name = escape(reg.family + reg.given) if reg.system == "lis" else f"{escape(reg.family)}^{escape(reg.given)}"
    phone = f"{reg.phone}^PRN^CP" if reg.phone else ""
    twin = ("Y", "1" if person.key < person.twin_of else "2") if person.twin_of else ("", "")
    text = segment(
        "PID",
        "1",
        "",
        ids,
        "",
        name,
        "",
        reg.birth,
        reg.sex,
        "",
        "",
        xad(reg.address),
        "",
        phone,
        "",
        "",
        MARITAL.get(person.marital, "U"),
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        twin[0],
        twin[1],
        "",
        "",
        "CHN",
        death_ts,
        "Y" if death_ts else "",
    )
    if not death_ts:
        reg.pid_cache["pid"] = text
    return text


def location(ward: str, room: str, bed: str) -> str:
    """PL: ward^room^bed^facility (empty for outpatients)."""
    if not ward:
        return ""
    return f"{ward}^{room}^{bed}^HUITONG^^^^{escape(WARD_BY_CODE[ward].name_zh)}"


def pv1(
    patient_class: str,
    loc: str,
    admission_type: str,
    attending: StaffMember | None,
    service: str,
    admit_source: str,
    visit_no: str,
    financial: str,
    admit_ts: str,
    *,
    prior_loc: str = "",
    disposition: str = "",
    discharge_ts: str = "",
) -> str:
    """The PV1 segment."""
    fields = [""] * 45
    fields[0] = "1"
    fields[1] = patient_class
    fields[2] = loc
    fields[3] = admission_type
    fields[5] = prior_loc
    fields[6] = xcn(attending)
    fields[9] = service
    fields[13] = admit_source
    fields[18] = f"{visit_no}^^^HIS^VN"
    fields[19] = financial
    fields[35] = disposition
    fields[43] = admit_ts
    fields[44] = discharge_ts
    return segment("PV1", *fields)


def with_field(seg: str, index: int, value: str) -> str:
    """``seg`` with field ``index`` (1-based, as HL7 numbers fields; for MSH field 1 is the separator) set to
    ``value`` — used by defect injection."""
    parts = seg.split("|")
    position = index - 1 if parts[0] == "MSH" else index
    while len(parts) <= position:
        parts.append("")
    parts[position] = value
    return "|".join(parts)


def get_field(seg: str, index: int) -> str:
    """Field ``index`` (1-based) of a segment, ``""`` if absent."""
    parts = seg.split("|")
    position = index - 1 if parts[0] == "MSH" else index
    return parts[position] if position < len(parts) else ""

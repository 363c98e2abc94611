"""The reference back office's API as typed models: requests are validated by them and the
OpenAPI document (:file:`openapi.json`) is generated from them (``kkt-bridge backoffice
openapi``), so the description and the server cannot disagree."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

#: the largest integer every storage keeps (a signed 64-bit column)
INT_MAX = 2**63 - 1
#: a ФД number is a 32-bit counter in the ФН; a document type is one byte in FFD, two here
FD_MAX = 2**32 - 1
TYPE_MAX = 2**16 - 1
MAX_BATCH = 1000

# Text stored in a column: at least one visible character, no NUL (PostgreSQL's TEXT
# cannot hold it). Lone surrogates are refused when the body is parsed.
# Python's str.strip() (which the rules apply to a shop's name) also takes \x1c-\x1f for
# whitespace, which the schema's \s does not: a name of those alone is not visible either.
_VISIBLE = r"^[^\x00]*[^\x00\s\x1c-\x1f][^\x00]*$"
_NO_NUL = r"^[^\x00]*$"


Text32 = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=_VISIBLE)]
Text64 = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_VISIBLE)]
Text128 = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_VISIBLE)]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_VISIBLE)]
OptText64 = Annotated[str, StringConstraints(max_length=64, pattern=_NO_NUL)] | None


def _whole(value: Any) -> Any:
    """JSON has one number type: 7 and 7.0 are the same integer; true and "7" are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("нужно целое число")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("нужно целое число")
        return int(value)
    return value


FdNumber = Annotated[int, Field(ge=1, le=FD_MAX), BeforeValidator(_whole)]
DocumentType = Annotated[int, Field(ge=0, le=TYPE_MAX), BeforeValidator(_whole)]
#: standard base64 with its padding, as base64.b64decode(validate=True) takes it
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ErrorDetail(BaseModel):
    code: str = Field(description="машиночитаемый код ошибки")
    message: str = Field(description="сообщение для человека, на языке Accept-Language")


class ErrorBody(BaseModel):
    """Every error answer of the API has this body."""

    error: ErrorDetail


# --- pairing ---------------------------------------------------------------------------------


class RegisterIn(_In):
    serial: Text64 = Field(description="заводской номер ККТ")
    fn_number: Text64 = Field(description="номер фискального накопителя")
    model: Text128
    inn: OptText64 = None
    rnm: OptText64 = None
    installation_id: OptText64 = None


class PairIn(_In):
    code: Text32 = Field(description="код синхронизации из «Мои Кассы» (1234-5678)")
    register_in: RegisterIn = Field(alias="register", description="касса, которую подключают")
    current_token: Annotated[str, StringConstraints(max_length=256, pattern=_NO_NUL)] | None = (
        Field(default=None, description="токен, с которым касса подключена сейчас: "
              "доказывает, что переподключается та же касса"))


class PairOut(BaseModel):
    token: str
    account: str
    shop: str
    register_id: int


class RegisterOut(BaseModel):
    id: int
    shop: str
    serial: str
    fn_number: str
    model: str
    inn: str | None
    rnm: str | None
    paired_at: str
    revoked: bool
    repair_allowed: bool = False


class MeOut(BaseModel):
    account: str
    shop: str
    register_out: RegisterOut = Field(alias="register")


# --- catalog ---------------------------------------------------------------------------------


class GroupOut(BaseModel):
    id: str
    name: str
    parent_id: str | None


class GoodOut(BaseModel):
    id: str
    name: str
    price: int = Field(description="цена в копейках")
    group_id: str | None
    code: str
    barcodes: list[str]
    measure: str
    vat: int
    weighed: bool


class CatalogOut(BaseModel):
    complete: bool = Field(description="true: весь каталог; false: изменения после since")
    as_of: str
    groups: list[GroupOut]
    goods: list[GoodOut]


class EmployeeOut(BaseModel):
    id: str
    name: str
    role: str
    inn: str


class EmployeesOut(BaseModel):
    employees: list[EmployeeOut]


# --- documents -------------------------------------------------------------------------------


class DocumentIn(_In):
    key: Annotated[str, StringConstraints(max_length=100)] = Field(
        description="метка документа у клиента (kkt-bridge пишет «ФН:ФД»); возвращается в "
                    "подтверждении как есть. Документ определяют fn_number и fd_number")
    fn_number: Text32
    fd_number: FdNumber
    document_type: DocumentType
    fns: dict[str, Any] = Field(description="документ в формате JSON ФНС")
    raw_b64: Annotated[str, StringConstraints(pattern=BASE64)] = Field(
        default="", description="байты документа из ФН, base64")


class AckOut(BaseModel):
    key: str
    accepted: bool
    duplicate: bool
    error: str | None


class AcksOut(BaseModel):
    acks: list[AckOut] = Field(description="по одному на документ, в порядке запроса")


class DocumentOut(BaseModel):
    id: int
    key: str
    fn_number: str
    fd_number: int
    document_type: int
    serial: str
    shop: str
    received_at: str
    fns: dict[str, Any]
    raw_b64: str


class DocumentsOut(BaseModel):
    documents: list[DocumentOut]


# --- admin -----------------------------------------------------------------------------------


class ShopOut(BaseModel):
    id: int
    name: str


class ShopsOut(BaseModel):
    shops: list[ShopOut]


class SyncCodeIn(_In):
    shop: Text200
    create_shop: bool = Field(default=False, description="создать магазин, если его нет")


class SyncCodeOut(BaseModel):
    code: str
    shop: str
    expires_at: str


class SyncCodeStateOut(BaseModel):
    code: str
    shop: str
    expires_at: str
    state: str = Field(description="active, used или expired")
    register_id: int | None


class SyncCodesOut(BaseModel):
    sync_codes: list[SyncCodeStateOut]


class RegistersOut(BaseModel):
    registers: list[RegisterOut]


class FaultsIn(_In):
    spec: Annotated[str, StringConstraints(max_length=1000, pattern=_NO_NUL)]


class FaultRuleOut(BaseModel):
    kind: str
    status: int
    seen: int
    fired: int
    path: str


class FaultsOut(BaseModel):
    spec: str
    rules: list[FaultRuleOut]


class HealthOut(BaseModel):
    status: str

"""The registry of entry kinds: each kind's body, signing role, applier, reverser and GEM flag.

One table, read by the writer (Ledger.append), the auditor's replay and the GEM export alike,
so the writer cannot append a kind the auditor cannot replay. The rules modules are imported
plainly; nothing is registered by importing them (their `@kind`/`@reverser` are markers only,
which tests/unit/test_kind_registry.py uses to find an applier missing from this table).
To add a kind: write its body model and applier in its rules module, add its line here, run
`python scripts/gen_schemas.py` (docs/ARCHITECTURE.md has the checklist).
"""

from __future__ import annotations

from ledger.rules import (
    contributions,
    corrections,
    fund,
    governance,
    index_series,
    levy,
    members,
    shares,
    werk,
)
from ledger.state import KindSpec

# kind, role that signs it (None: the founding entry, signed by the keys it names), body model,
# applier, reverser (None: cannot be corrected, only followed by a new entry), read by GEM.
# fmt: off
TABLE: tuple[KindSpec, ...] = (
    KindSpec("ledger.founded", None, governance.LedgerFounded, governance._founded),
    KindSpec("key.authorized", "governor", governance.KeyAuthorized, governance._authorized),
    KindSpec("key.revoked", "governor", governance.KeyRevoked, governance._revoked),
    KindSpec("charter.amended", "governor", governance.CharterAmended, governance._amended),
    KindSpec("member.admitted", "coop-admin", members.MemberAdmitted, members._admitted),
    KindSpec("member.forgotten", "coop-admin", members.MemberForgotten, members._forgotten),
    KindSpec("correction.applied", "governor", corrections.CorrectionApplied, corrections._corrected, gem=True),
    KindSpec("index.published", "coop-admin", index_series.IndexPublished, index_series._published),
    KindSpec("index.exception-published", "governor", index_series.IndexExceptionPublished, index_series._exception_published),
    KindSpec("index.corrected", "governor", index_series.IndexCorrected, index_series._corrected),
    KindSpec("fund.deposited", "coop-admin", fund.FundDeposited, fund._deposited, fund._undo_deposit),
    KindSpec("contribution.charged", "levy-admin", contributions.ContributionCharged, contributions._charged, gem=True),
    KindSpec("contribution.paid", "levy-admin", contributions.ContributionPaid, contributions._paid, gem=True),
    KindSpec("workplaces.registered", "levy-admin", contributions.WorkplacesRegistered, contributions._workplaces),
    KindSpec("contribution.debtor-named", "levy-admin", contributions.DebtorNamed, contributions._debtor_named),
    KindSpec("dwelling.registered", "coop-admin", shares.DwellingRegistered, shares._registered, shares._undo_registration),
    KindSpec("share.sold", "coop-admin", shares.ShareSold, shares._sold, shares._undo_sale),
    KindSpec("share.bought-back", "coop-admin", shares.ShareBoughtBack, shares._bought_back, shares._undo_buy_back),
    KindSpec("share.resold", "coop-admin", shares.ShareResold, shares._resold),
    KindSpec("share.offered", "coop-admin", shares.ShareOffered, shares._offered),
    KindSpec("workspace.registered", "werk-admin", werk.WorkspaceRegistered, werk._registered, werk._undo_workspace),
    KindSpec("workspace.revalued", "werk-admin", werk.WorkspaceRevalued, werk._revalued),
    KindSpec("lease.applied", "werk-admin", werk.LeaseApplied, werk._applied, werk._undo_application),
    KindSpec("lease.withdrawn", "werk-admin", werk.LeaseWithdrawn, werk._withdrawn, werk._undo_withdrawal),
    KindSpec("lease.granted", "werk-admin", werk.LeaseGranted, werk._granted, werk._undo_granted),
    KindSpec("lease.exception-granted", "governor", werk.LeaseGranted, werk._exception_granted, werk._undo_exception_granted),
    KindSpec("lease.indexed", "werk-admin", werk.LeaseIndexed, werk._indexed, werk._undo_indexation),
    KindSpec("lease.ended", "werk-admin", werk.LeaseEnded, werk._ended, werk._undo_end),
    KindSpec("property.registered", "levy-admin", levy.PropertyRegistered, levy._registered, levy._undo_registration),
    KindSpec("property.sold", "levy-admin", levy.PropertySold, levy._sold, levy._undo_sale, gem=True),
    KindSpec("levy.paid", "levy-admin", levy.LevyPaid, levy._levy_paid, levy._undo_payment, gem=True),
    KindSpec("levy.waived", "governor", levy.LevyWaived, levy._levy_waived, levy._undo_waiver, gem=True),
)
# fmt: on

# The modules the table draws on: the test checks every rules module with a kind is here.
RULES_MODULES = (
    governance,
    members,
    corrections,
    index_series,
    fund,
    contributions,
    shares,
    werk,
    levy,
)

KINDS: dict[str, KindSpec] = {spec.kind: spec for spec in TABLE}
if len(KINDS) != len(TABLE):
    raise RuntimeError("an entry kind is listed twice in ledger/kinds.py")

# The kinds the GEM export reads (a correction only where it reverses one of the others).
GEM_KINDS: tuple[str, ...] = tuple(spec.kind for spec in TABLE if spec.gem)

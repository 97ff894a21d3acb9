"""KPIs for programme managers as JSON: badges issued per month, revocation and suspension rates,
the time to complete a pathway (median and quartiles) and endorsements received by the endorser's
kind, for the whole registry, one organisation or one achievement. Each answer is a few indexed
reads of the `kpis` projection."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from registry.api.http import READ_PROBLEMS
from registry.projections import Kpis, Queries

Months = Annotated[int, QueryParameter(ge=1, le=36, description="how many months of issued credentials, "
                                                                "ending with the current one (UTC)")]
DESCRIPTION = ("`months`: credentials issued per month of issue (UTC), oldest first, months without any "
               "included. `revocation_rate`: revoked / issued (all time); `suspension_rate`: suspended now / "
               "issued. `time_to_earn`: for pathways (achievements that require others), the time from a "
               "recipient's first award of any achievement the pathway requires (transitively) to their "
               "first award of the pathway itself, in seconds. `endorsements`: standing endorsements received "
               "(of the organisation, its achievements, its credentials) by the endorser's organisation kind; "
               "`not-stated` when it stated none.")


@get("/kpis", sync_to_thread=True, responses=READ_PROBLEMS, tags=["kpis"], description=DESCRIPTION,
     summary="Key figures for the whole registry: issued per month, revocation rate, time to earn, endorsers")
def registry_kpis(queries: NamedDependency[Queries], months: Months = 12) -> Kpis:
    return queries.kpis(months=months)


@get("/issuers/{slug:str}/kpis", sync_to_thread=True, responses=READ_PROBLEMS, tags=["kpis"],
     description=DESCRIPTION,
     summary="Key figures of one organisation: issued per month, revocation rate, time to earn, endorsers")
def issuer_kpis(queries: NamedDependency[Queries], slug: FromPath[str], months: Months = 12) -> Kpis:
    return queries.kpis(issuer=slug, months=months)


@get("/achievements/{achievement_id:str}/kpis", sync_to_thread=True, responses=READ_PROBLEMS, tags=["kpis"],
     description=DESCRIPTION,
     summary="Key figures of one achievement: issued per month, revocation rate, time to earn, endorsers")
def achievement_kpis(queries: NamedDependency[Queries], achievement_id: FromPath[str],
                     months: Months = 12) -> Kpis:
    return queries.kpis(achievement=achievement_id, months=months)


HANDLERS = [registry_kpis, issuer_kpis, achievement_kpis]

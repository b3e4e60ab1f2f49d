"""``CompanyIdResolver.resolve_batch``: the five tiers of spec section 1, in order.

1. YAML overrides (plan, account, hardcode, name, account_name; ``__EMPTY__`` excludes);
2. DB cache — one ``lookup_batch`` for every distinct key of the rows still open;
3. the existing company-id column — and a name's one valid id for its other rows — then
   the backflow of what it taught us (plan and account only with single-employer evidence);
4. EQC sync lookups within the run's budget, most frequent names first;
5. temporary ids, then one enqueue of every distinct name that got one.

Each tier only sees rows still unresolved. With ``strategy.explain`` the run also keeps
per-row provenance (:mod:`resolve.provenance`) and adds it as three columns
(:func:`explain_columns`). This module is the resolver's face: defaults from the
environment, checks of the collaborators, the development-salt warning. The tiers run in
:mod:`resolve.batch` (numpy and pandas), imported when a resolver is built, so that the
package and the queue commands start without pandas. An exception in a tier is logged,
counted in ``statistics.tier_errors`` and the run goes on; database work runs in a
savepoint; logs carry counts only — never names, keys or ids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from work_data_hub.infrastructure.enrichment.resolve.explain import explain_columns
from work_data_hub.infrastructure.enrichment.resolve.overrides import load_company_id_overrides
from work_data_hub.infrastructure.enrichment.types import (
    EqcProviderProtocol,
    MappingRepositoryProtocol,
    ResolutionResult,
    ResolutionStrategy,
)
from work_data_hub.settings import Settings
from work_data_hub.utils import collector
from work_data_hub.utils.logging import get_logger

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TIER_NAMES", "CompanyIdResolver", "explain_columns"]


log = get_logger(__name__)


#: Names of the steps of a run, as used in ``timings_ms`` and ``tier_errors``.
TIER_NAMES: tuple[str, ...] = (
    "yaml",
    "db_cache",
    "existing_column",
    "backflow",
    "eqc_sync",
    "temp_id",
    "async_queue",
)


class CompanyIdResolver:
    """Gives every row of a frame a company id: a real one where known, else a temporary one.

    The defaults read the environment through :class:`~work_data_hub.settings.Settings`, as
    the CLI does, so the library and the CLI give the same ids for the same input:

    * ``yaml_overrides=None`` loads the override files of ``WDH_MAPPINGS_DIR``; ``{}`` means
      none. Given overrides are what ``load_company_id_overrides`` returns (name keys may
      also be raw: they are normalized here; hardcode keys must read ``plan|name``).
    * ``salt=None`` takes ``WDH_ALIAS_SALT``. Without it, production (``WDH_ENV``) refuses
      with ``ConfigError``; development uses the development salt and warns once.

    Without ``mapping_repository`` the DB cache, backflow and enqueue are skipped; without
    ``eqc_provider`` the EQC tier is. A collaborator that does not provide its protocol
    (say, a dict of overrides passed positionally as the repository) is a ``TypeError``.

    ``before_eqc`` is called once before the EQC tier: a caller whose connection commits as
    it goes (the CLI) commits the reads and backflow there, so no network call runs inside
    a database transaction — reads, then calls, then writes, each step short.

    The EQC tier runs when a provider is given and ``strategy.sync_lookup_budget > 0``
    (spec section 1); the run's budget is ``min(sync_lookup_budget,
    provider.remaining_budget)``. ``use_enrichment_service`` is kept for legacy callers
    and does not gate the tier.
    """

    def __init__(
        self,
        yaml_overrides: Mapping[str, Mapping[Any, Any]] | None = None,
        mapping_repository: MappingRepositoryProtocol | None = None,
        eqc_provider: EqcProviderProtocol | None = None,
        salt: str | None = None,
        *,
        before_eqc: Callable[[], object] | None = None,
    ) -> None:
        _check_collaborator("mapping_repository", mapping_repository, MappingRepositoryProtocol)
        _check_collaborator("eqc_provider", eqc_provider, EqcProviderProtocol)
        settings = Settings.from_env() if yaml_overrides is None or salt is None else None
        if yaml_overrides is None:
            assert settings is not None
            yaml_overrides = load_company_id_overrides(settings.mappings_dir)
        if salt is None:
            assert settings is not None
            salt = settings.alias_salt
            if settings.salt_is_default:
                _warn_development_salt()
        # Imported here so that the package and the queue commands start without pandas.
        from work_data_hub.infrastructure.enrichment.resolve.batch import TierRunner  # noqa: PLC0415

        self._runner = TierRunner(
            yaml_overrides, mapping_repository, eqc_provider, salt, before_eqc
        )

    def resolve_batch(
        self, df: pd.DataFrame, strategy: ResolutionStrategy | None = None
    ) -> ResolutionResult:
        """Resolve ``df`` (never modified) into a copy with ``strategy.output_column``.

        The output column has pandas ``string`` dtype with ``<NA>`` for rows excluded or
        unresolved; index and row order are those of ``df``. Raises ``ValueError`` when the
        customer-name column is missing.

        The cyclic garbage collector is held back during the call: a batch allocates
        millions of short-lived containers that reference counting frees, and the
        collector's passes over them found nothing but cost a tenth of the run. The
        batch's few cycles go at the first automatic pass after it.
        """
        with collector.paused():
            return self._runner.resolve(df, strategy or ResolutionStrategy())


def _check_collaborator(parameter: str, value: object, protocol: type) -> None:
    if value is not None and not isinstance(value, protocol):
        raise TypeError(
            f"{parameter} must provide {protocol.__name__}, got {type(value).__name__}"
            " (overrides go in yaml_overrides)"
        )


_dev_salt_warned = False


def _warn_development_salt() -> None:
    """One warning per process: ids made with the development salt must stay out of
    production data."""
    global _dev_salt_warned  # noqa: PLW0603 - a once-per-process flag
    if not _dev_salt_warned:
        _dev_salt_warned = True
        log.warning("resolver.development_salt", variable="WDH_ALIAS_SALT")

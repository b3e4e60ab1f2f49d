"""The original implementation's import path of the override loader.

``from work_data_hub.config.mapping_loader import load_company_id_overrides`` keeps working
for its callers; the loader itself lives in
:mod:`~work_data_hub.infrastructure.enrichment.resolve.overrides`.
"""

from __future__ import annotations

from work_data_hub.infrastructure.enrichment.resolve.overrides import load_company_id_overrides

__all__ = ["load_company_id_overrides"]

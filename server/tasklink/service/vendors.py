"""Vendors: what each configured vendor supports, for `list_vendors` and `capabilities://{vendor}`."""

from __future__ import annotations

from ..capabilities import VendorInfo, VendorsReport, vendor_info, vendor_summary
from ..errors import InvalidInput
from .core import Core


class VendorCatalogue:
    def __init__(self, core: Core) -> None:
        self.core = core

    def report(self, vendor: str | None = None, *, detail: bool = False) -> VendorsReport:
        """A short summary per vendor; with `detail`, each one's full capabilities as well."""

        names = [self.core.vendors.runtime(vendor).name] if vendor else list(self.core.vendors.runtimes)
        infos = [self.info(name) for name in names]
        return VendorsReport(vendors=[vendor_summary(i) for i in infos], details=infos if detail else [])

    def info(self, vendor: str) -> VendorInfo:
        rt = self.core.vendors.runtime(vendor)
        return vendor_info(rt.manifest, mode=rt.mode, settings=rt.settings, today=self.core.now().date())

    def intake_vendor(self) -> str:
        """The configured vendor that holds legal intakes (an operator error when none is enabled)."""

        for name, rt in self.core.vendors.runtimes.items():
            if rt.manifest.operation("create_intake").supported:
                return name
        raise InvalidInput("no enabled vendor supports legal intakes", hint="enable spotdraft in TASKLINK_VENDORS")

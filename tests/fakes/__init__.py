"""In-process fakes of AWS services that speak the real wire protocols over HTTP."""

from tests.fakes.rds_server import FAULT_KINDS, TRUNCATION_NOTICE, FakeRds

__all__ = ["FAULT_KINDS", "TRUNCATION_NOTICE", "FakeRds"]

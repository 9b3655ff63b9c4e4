"""Instagram DMs with real processes: the system, the simulator and the CRM deployment."""

import pytest

from tests import dm_factories as s

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_dm_goes_out_once_and_lands_in_the_separate_crm(tmp_path):
    s.e2e_dm_appears_once_in_the_sim_and_the_crm(tmp_path, "instagram")

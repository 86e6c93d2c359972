"""The locate index freezes the collector only for a network large enough to need it."""

import gc

from gridsvc.network import index as network_index


class Sized:
    def __init__(self, cells: int):
        self.cells = cells

    def __len__(self) -> int:
        return self.cells


def test_a_county_sized_index_leaves_the_collector_alone():
    frozen_before = gc.get_freeze_count()
    network_index._frozen(Sized(network_index.FREEZE_FROM_CELLS - 1))
    assert gc.get_freeze_count() == frozen_before


def test_a_province_sized_index_is_frozen_out_of_the_collectors_rescans():
    try:
        network_index._frozen(Sized(network_index.FREEZE_FROM_CELLS))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()

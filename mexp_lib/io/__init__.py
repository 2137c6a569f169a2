"""File formats of mexp: frames on disk, landmark JSON, HDF5 stores, CSV tables; atomic writes."""

from mexp_lib.io.atomic import atomic_path, write_csv, write_json

__all__ = ["atomic_path", "write_csv", "write_json"]

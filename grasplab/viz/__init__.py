"""Figures: contact sheets, object grids (matplotlib, written atomically)."""
from .figures import save_contact_sheet, save_image_grid

__all__ = ["save_contact_sheet", "save_image_grid"]

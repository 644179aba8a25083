"""Exporting trained agents for deployment without hirl: TorchScript networks, a manifest and a standalone loader
(hirl.export.torchscript writes them; hirl.export.hirl_policy is the loader, copied into the export folder)."""

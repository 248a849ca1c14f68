"""TaskTrail: a vendor added from outside tasklink (manifest, adapter and simulator all live here)."""

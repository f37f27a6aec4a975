"""Records over their whole life: retention and disposal, data-subject requests, the personal-information
file register (個人情報ファイル簿). Sits between `commands/` (which stamp retention when a case opens or
closes) and `casefile/` and `access/` (whose rows it disposes of and discloses)."""

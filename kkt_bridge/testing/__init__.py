"""Testing helpers shipped with the package (fixtures, contract tests)."""

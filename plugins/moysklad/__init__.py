"""MoySklad (МойСклад) back office: JSON API 1.2 client, plugin and an in-process fake."""

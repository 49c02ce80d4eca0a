"""The application as plain functions: what is stale (one plan), processing a footage, making
clips and packages, publishing, consent decisions. It reads settings and talks to the catalog;
it knows nothing of Prefect, which `flows/` wraps around it."""

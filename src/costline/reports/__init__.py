"""Read-side reports over the cost store: cost breakdowns and FOCUS export."""

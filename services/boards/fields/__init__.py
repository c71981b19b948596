"""Custom fields (text, number, select, multi-select, date, boolean) and the values cards hold."""

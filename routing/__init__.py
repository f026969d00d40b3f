"""Classification of citizen requests: type, category, responsible departments, place."""

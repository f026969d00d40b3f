"""Classification of citizen requests: type, category, responsible departments, place.

Public API:
    routing.classify.Router.load(model_file, catalog=None) -> Router
    Router.classify(text, *, dialed_number=None) -> Classification
    routing.catalog.load_catalog(path=None) -> Catalog   (routing/catalog/departments.yaml)
    routing.train.train(texts, labels, config=None) -> CategoryModel; save_model / load_model
    routing.types.TypeClassifier, routing.types.emergency_of(text)
    routing.place.extract_place(text), routing.place.summary_of(text, max_chars=40)
    routing.cli.cmd_train / cmd_eval / cmd_classify   (what `hotline router ...` runs)
"""

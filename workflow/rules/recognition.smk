# Stage 3 (recognition): the model inputs of all samples packed into one store, one training
# job per leave-one-subject-out fold, then pooled metrics. Recognition and training settings
# are the dataset's own (datasets.<name>.recognition / .training over the global sections).


rule build_inputs:
    input:
        samples=rules.build_sample_table.output.samples,
        sources=get_fold_inputs,
        clips=get_pack_clips,
        faces=get_pack_faces,
    output:
        "results/inputs/{dataset}.h5",
    log:
        "logs/build_inputs/{dataset}.log",
    benchmark:
        "benchmarks/build_inputs/{dataset}.tsv"
    params:
        sources=get_fold_sources,
        clips=get_pack_clip_files,
        faces=get_pack_face_files,
        settings=get_settings("build_inputs"),
    script:
        "../scripts/build_inputs.py"


rule train_fold:
    input:
        samples=rules.build_sample_table.output.samples,
        pack=rules.build_inputs.output[0],
    output:
        predictions="results/train/{dataset}/{fold}/predictions.csv",
        checkpoint="results/train/{dataset}/{fold}/model.pt",
        selection="results/train/{dataset}/{fold}/selection.json",
    log:
        "logs/train_fold/{dataset}/{fold}.log",
    benchmark:
        "benchmarks/train_fold/{dataset}/{fold}.tsv"
    threads: 1
    resources:
        gpu=1,
    params:
        fold_by=lambda wc: PLANS[wc.dataset].fold_column,
        settings=get_settings("train_fold"),
    script:
        "../scripts/train_fold.py"


rule evaluate_recognition:
    input:
        predictions=get_fold_predictions,
    output:
        metrics=report(
            "results/{dataset}_loso_metrics.csv",
            caption="../report/table_csv.rst",
            category="Recognition",
            subcategory="{dataset}",
            labels={"result": "metric table (CSV)"},
        ),
        page=report(
            "results/recognition/{dataset}/metrics.html",
            caption="../report/loso_metrics.rst",
            category="Recognition",
            subcategory="{dataset}",
            labels={"result": "metric table"},
        ),
        provenance="results/{dataset}_loso_metrics.provenance.json",
        predictions="results/recognition/{dataset}/predictions.csv",
        confusion=report(
            "results/recognition/{dataset}/confusion.png",
            caption="../report/confusion.rst",
            category="Recognition",
            subcategory="{dataset}",
            labels={"result": "confusion matrix"},
        ),
    log:
        "logs/evaluate_recognition/{dataset}.log",
    benchmark:
        "benchmarks/evaluate_recognition/{dataset}.tsv"
    params:
        classes=lambda wc: PLANS[wc.dataset].class_set.classes,
        expected=lambda wc: len(PLANS[wc.dataset].kept),
        excluded=lambda wc: PLANS[wc.dataset].exclusions(),
        config=lambda wc: get_provenance_config(wc, "evaluate_recognition"),
    script:
        "../scripts/evaluate_recognition.py"

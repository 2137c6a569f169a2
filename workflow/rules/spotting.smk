# Stage 3 (long videos): per-video flow features -> leak-free spotting -> metrics.


rule compute_spotting_features:
    input:
        faces=lambda wc: chunk_dir("faces", wc.dataset, PLANS[wc.dataset].video_chunk[wc.video]),
    output:
        features="results/spotting_features/{dataset}/{video}.h5",
    log:
        "logs/compute_spotting_features/{dataset}/{video}.log",
    benchmark:
        "benchmarks/compute_spotting_features/{dataset}/{video}.tsv"
    params:
        faces=lambda wc: face_file(wc.dataset, wc.video, "faces"),
        fps=lambda wc: float(video_row(wc).fps),
        settings=get_settings("compute_spotting_features"),
    script:
        "../scripts/compute_spotting_features.py"


rule spot_intervals:
    input:
        samples=rules.build_sample_table.output.samples,
        features=get_spotting_features,
    output:
        intervals="results/spotting/{dataset}/intervals.csv",
        selection="results/spotting/{dataset}/selection.csv",
        timelines=report(
            directory("results/spotting/{dataset}/timelines"),
            patterns=["{video}.png"],
            caption="../report/spotting_timelines.rst",
            category="Spotting",
            subcategory="{dataset}: score timelines",
            labels={"video": "{video}"},
        ),
        model="results/spotting/{dataset}/model.pt",
        strs="results/spotting/{dataset}/strs.csv",
    log:
        "logs/spot_intervals/{dataset}.log",
    benchmark:
        "benchmarks/spot_intervals/{dataset}.tsv"
    params:
        settings=get_settings("spot_intervals"),
        classes=lambda wc: PLANS[wc.dataset].class_set.classes if spotting_recognises(wc) else [],
        class_mapping=lambda wc: PLANS[wc.dataset].class_set.mapping if spotting_recognises(wc) else {},
    script:
        "../scripts/spot_intervals.py"


rule evaluate_spotting:
    input:
        samples=rules.build_sample_table.output.samples,
        intervals=rules.spot_intervals.output.intervals,
    output:
        metrics=report(
            "results/{dataset}_spotting_metrics.csv",
            caption="../report/table_csv.rst",
            category="Spotting",
            subcategory="{dataset}: metrics",
            labels={"result": "metric table (CSV)"},
        ),
        page=report(
            "results/spotting/{dataset}/metrics.html",
            caption="../report/spotting_metrics.rst",
            category="Spotting",
            subcategory="{dataset}: metrics",
            labels={"result": "metric table"},
        ),
        provenance="results/{dataset}_spotting_metrics.provenance.json",
    log:
        "logs/evaluate_spotting/{dataset}.log",
    benchmark:
        "benchmarks/evaluate_spotting/{dataset}.tsv"
    params:
        config=lambda wc: get_provenance_config(wc, "evaluate_spotting"),
    script:
        "../scripts/evaluate_spotting.py"

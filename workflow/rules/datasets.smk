# Stage 0: the data. The demo is rendered from config; every dataset becomes a validated sample table.


rule generate_demo:
    output:
        root=directory("results/datasets/{dataset}"),
    log:
        "logs/generate_demo/{dataset}.log",
    benchmark:
        "benchmarks/generate_demo/{dataset}.tsv"
    wildcard_constraints:
        dataset="|".join(map(re.escape, DEMO_DATASETS)) or "NONE",
    params:
        settings=get_settings("generate_demo"),
    script:
        "../scripts/generate_demo.py"


rule build_sample_table:
    input:
        annotations=get_annotations,
    output:
        samples="results/samples/{dataset}.csv",
        skipped="results/samples/{dataset}.skipped.csv",
    log:
        "logs/build_sample_table/{dataset}.log",
    benchmark:
        "benchmarks/build_sample_table/{dataset}.tsv"
    params:
        settings=get_settings("build_sample_table"),
    script:
        "../scripts/build_sample_table.py"

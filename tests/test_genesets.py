"""The catalogue API: loading, lookups, GMT/TSV/JSON, user signatures, translation."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from scclast import genesets
from scclast._errors import ScclastInputError
from scclast._warnings import DataWarning
from scclast.genesets._build import build_catalogue

PUBLIC_NAMES = {
    "COMPARISON_STATUSES",
    "EFFECTS",
    "OSTEOMORPH_SET",
    "PHASES",
    "SPECIES",
    "Catalogue",
    "ExtraReceptor",
    "Factor",
    "GenePair",
    "GeneSet",
    "LigandReceptorPair",
    "Member",
    "ReceptorComplex",
    "Reference",
    "Species",
    "as_dict",
    "catalogue_dir",
    "catalogue_version",
    "compare_resources",
    "coupling_resource",
    "export",
    "factor_genes",
    "flagging_sets",
    "gene_caveats",
    "get",
    "guess_symbol_species",
    "ligand_receptor_pairs",
    "load",
    "members",
    "names",
    "read_gmt",
    "read_signature",
    "resolve_gene_sets",
    "unpaired_factors",
    "to_gmt",
    "translate",
    "write_text_atomically",
}

REQUIRED_SETS = [
    "clastokines_secreted",
    "clastokines_putative",
    "coupling_contact",
    "coupling_inhibitory",
    "coupling_matrix_release",
    "coupling_ev",
    "clastokine_receptors_osteoblast",
    "phase_initiation_anabolic",
    "phase_initiation_inhibitory",
    "phase_transition_anabolic",
    "phase_transition_inhibitory",
    "lineage_myeloid",
    "state_macrophage",
    "state_oc_precursor",
    "state_osteoclast",
    "exclusion_neutrophil",
    "exclusion_dendritic_cell",
    "secretory_machinery",
]


def test_every_required_set_is_in_the_catalogue():
    assert set(REQUIRED_SETS) <= set(genesets.names())


def test_osteomorph_set_is_not_invented():
    assert genesets.OSTEOMORPH_SET not in genesets.names()
    with pytest.raises(ScclastInputError, match=r"McDonald et al\. 2021.*signature"):
        genesets.get("osteomorph")


def test_get_returns_species_specific_symbols():
    mouse = genesets.get("clastokines_secreted", species="mouse")
    human = genesets.get("clastokines_secreted", species="human")
    assert {"Sphk1", "Spns2", "Wnt10b", "C3", "Cthrc1", "Wnt5a", "Slit3", "Ctf1", "Lif"} <= set(
        mouse
    )
    assert {"SPHK1", "SLIT3", "CTF1", "LIF"} <= set(human)
    assert len(mouse) == len(human)


def test_receptor_set_keeps_ligand_receptor_pairs():
    receptors = {m.mouse: m for m in genesets.members("clastokine_receptors_osteoblast")}
    assert receptors["Ephb4"].factor == "efnb2"
    assert receptors["Robo1"].factor == "slit3"
    for gene in (
        "Tgfbr1",
        "Igf1r",
        "S1pr1",
        "S1pr2",
        "S1pr3",
        "C3ar1",
        "Tpbg",
        "Ror2",
        "Robo2",
        "Lifr",
        "Il6st",
        "Pdgfrb",
        "Met",
        "Tnfsf11",
        "Epha2",
        "Plxnb1",
        "Erbb2",
    ):
        assert gene in receptors, gene


def test_unknown_set_lists_available_names():
    with pytest.raises(ScclastInputError) as err:
        genesets.get("clastokines")
    message = str(err.value)
    assert "unknown gene set 'clastokines'" in message
    assert "clastokines_secreted" in message and "\n" not in message


def test_unknown_species_names_the_allowed_ones():
    with pytest.raises(ScclastInputError, match="use 'mouse' or 'human'"):
        genesets.get("clastokines_secreted", species="rat")


def test_as_dict_matches_get_for_every_set():
    for species in genesets.SPECIES:
        table = genesets.as_dict(species)
        assert list(table) == genesets.names()
        for name, genes in table.items():
            assert genes == genesets.get(name, species)
            assert len(genes) == len(set(genes)), name


def test_catalogue_version_is_recorded():
    assert genesets.catalogue_version() == genesets.load().version
    assert genesets.catalogue_version()


def test_gmt_round_trip(tmp_path):
    path = tmp_path / "catalogue.gmt"
    genesets.to_gmt(genesets.as_dict("mouse"), path)
    assert genesets.read_gmt(path) == genesets.as_dict("mouse")


def test_full_export_gmt_holds_every_set_with_descriptions(tmp_path):
    text = genesets.export("mouse", "gmt")
    lines = text.splitlines()
    assert [line.split("\t")[0] for line in lines] == genesets.names()
    first = lines[0].split("\t")
    assert first[1] == " ".join(genesets.load().sets[first[0]].description.split())


def test_gseapy_reads_our_gmt(tmp_path):
    gseapy = pytest.importorskip("gseapy")
    path = tmp_path / "catalogue.gmt"
    genesets.to_gmt(genesets.as_dict("human"), path)
    parsed = gseapy.read_gmt(str(path))
    assert parsed == genesets.as_dict("human")


def test_tsv_and_json_exports_agree_with_the_records():
    tsv = genesets.export("human", "tsv").splitlines()
    header = tsv[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in tsv[1:]]
    slit3 = [r for r in rows if r["gene_set"] == "clastokines_secreted" and r["gene"] == "SLIT3"]
    assert len(slit3) == 1 and slit3[0]["factor"] == "slit3" and slit3[0]["references"]
    payload = json.loads(genesets.export("human", "json"))
    assert payload["catalogue_version"] == genesets.catalogue_version()
    assert payload["sets"]["clastokines_putative"]["genes"] == genesets.get(
        "clastokines_putative", "human"
    )
    assert payload["sets"]["clastokines_putative"]["flags"] is True
    assert payload["sets"]["coupling_matrix_release"]["flags"] is False


def test_export_rejects_unknown_format():
    with pytest.raises(ScclastInputError, match="gmt, tsv or json"):
        genesets.export("mouse", "xlsx")


def test_resolve_gene_sets_accepts_names_dicts_and_gmt(tmp_path):
    assert genesets.resolve_gene_sets("all", "human") == genesets.as_dict("human")
    assert genesets.resolve_gene_sets(["coupling_contact"], "mouse") == {
        "coupling_contact": genesets.get("coupling_contact")
    }
    gmt = tmp_path / "mine.gmt"
    gmt.write_text("mine\tx\tSlit3\tLif\tSlit3\n")
    assert genesets.resolve_gene_sets(str(gmt)) == {"mine": ["Slit3", "Lif"]}
    assert genesets.resolve_gene_sets({"a": ("X", "Y")}) == {"a": ["X", "Y"]}
    with pytest.raises(ScclastInputError, match="single string"):
        genesets.resolve_gene_sets({"a": "Slit3"})


def test_read_gmt_rejects_malformed_lines(tmp_path):
    path = tmp_path / "bad.gmt"
    path.write_text("only_a_name\n")
    with pytest.raises(ScclastInputError, match=r"bad\.gmt: line 1 is not GMT"):
        genesets.read_gmt(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("Slit3\nCthrc1\nLif\n", {"osteomorph": ["Slit3", "Cthrc1", "Lif"]}),
        ("Symbol\nSlit3\nCthrc1\n", {"osteomorph": ["Slit3", "Cthrc1"]}),
        ("Symbol\tlogFC\nSlit3\t2.1\nCthrc1\t1.5\n", {"osteomorph": ["Slit3", "Cthrc1"]}),
        ("id,Symbol\n1,Slit3\n2,Lif\n", {"osteomorph": ["Slit3", "Lif"]}),
    ],
)
def test_read_signature_formats(tmp_path, content, expected):
    path = tmp_path / "signature.txt"
    path.write_text(content)
    assert genesets.read_signature(path) == expected


def test_read_signature_per_population_columns(tmp_path):
    path = tmp_path / "signature.tsv"
    path.write_text("Symbol\tosteomorph\tosteoclast\nSlit3\t1\t0\nCthrc1\t1\t1\nLif\t0\t1\n")
    assert genesets.read_signature(path) == {
        "osteomorph_osteomorph": ["Slit3", "Cthrc1"],
        "osteomorph_osteoclast": ["Cthrc1", "Lif"],
    }


def test_read_signature_gmt(tmp_path):
    path = tmp_path / "sig.gmt"
    path.write_text("omorph_up\tMcDonald\tSlit3\tCthrc1\n")
    assert genesets.read_signature(path) == {"omorph_up": ["Slit3", "Cthrc1"]}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "file is empty"),
        (b"   \n\n", "file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a text file"),
        (b"score\tpvalue\n1.0\t0.5\n", "no gene-symbol column"),
        (b"\xff\xfe\xfa bad bytes", "not UTF-8 text"),
    ],
)
def test_read_signature_bad_files_name_the_file(tmp_path, content, problem):
    path = tmp_path / "sig.tsv"
    path.write_bytes(content)
    with pytest.raises(ScclastInputError) as err:
        genesets.read_signature(path)
    assert str(path) in str(err.value) and problem in str(err.value)
    assert "\n" not in str(err.value)


def test_read_signature_missing_file(tmp_path):
    with pytest.raises(ScclastInputError, match="file not found"):
        genesets.read_signature(tmp_path / "absent.txt")


def test_translation_uses_curated_pairs_and_reports_the_rest(tmp_path):
    path = tmp_path / "human_sig.txt"
    path.write_text("SLIT3\nCTHRC1\nNOTAREALGENE1\n")
    with pytest.warns(DataWarning, match=r"1 of 3 genes have no mouse ortholog.*NOTAREALGENE1"):
        sets = genesets.read_signature(path, species="mouse")
    assert sets == {"osteomorph": ["Slit3", "Cthrc1"]}


def test_translation_never_upper_cases_unknown_genes():
    with pytest.warns(DataWarning, match="Fake7"):
        assert genesets.translate(["Fake7"], "human") == []


def test_translation_through_a_user_table(tmp_path):
    table = tmp_path / "orthologs.tsv"
    table.write_text("Abc1\tABC1X\nDef2\tDEF2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert genesets.translate(["Abc1", "Def2"], "human", orthologs=table) == ["ABC1X", "DEF2"]


def test_symbol_species_guess():
    assert genesets.guess_symbol_species(genesets.get("state_osteoclast", "mouse")) == "mouse"
    assert genesets.guess_symbol_species(genesets.get("state_osteoclast", "human")) == "human"
    assert genesets.guess_symbol_species(["1", "2"]) == "unknown"


def test_ortholog_table_is_consistent():
    table = genesets.load().ortholog_table()
    for mouse, human in table["mouse_to_human"].items():
        assert table["human_to_mouse"][human] == mouse


def test_package_keeps_every_public_name():
    assert set(genesets.__all__) == PUBLIC_NAMES
    for name in PUBLIC_NAMES:
        assert getattr(genesets, name) is not None, name


def test_import_stays_light():
    # `scclast genesets` answers without loading the analysis stack.
    code = (
        "import sys, scclast.genesets as g; g.get('coupling_contact'); g.export('mouse', 'tsv'); "
        "print(sorted(m for m in ('pandas', 'numpy', 'scanpy', 'anndata') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"


def test_factor_genes_follow_the_factor_records():
    table = genesets.factor_genes("human")
    catalogue = genesets.load()
    expected = list(dict.fromkeys(p.human for f in catalogue.factors.values() for p in f.genes))
    assert table["gene"].tolist() == expected
    row = table.set_index("gene").loc["SLIT3"]
    assert (row["factor"], row["label"], row["effect"]) == ("slit3", "SLIT3", "anabolic")


def test_gmt_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "sets.gmt"
    path.write_text("old\tx\tA\n")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        genesets.to_gmt({"new": ["B"]}, path)
    assert path.read_text() == "old\tx\tA\n"
    assert [p.name for p in tmp_path.iterdir()] == ["sets.gmt"]


def _raw_catalogue(**factor_fields):
    factor = {
        "id": "slit3",
        "name": "SLIT3",
        "category": "secreted",
        "effect": "anabolic",
        "phases": ["transition"],
        "genes": [{"mouse": "Slit3", "human": "SLIT3"}],
        "references": ["r1"],
        **factor_fields,
    }
    return {"catalogue_version": "t", "references": {"r1": {}}, "factors": [factor]}


def test_build_derives_sets_by_factor_and_phase():
    raw_sets = {
        "sets": [
            {"name": "by_factor", "derive": {"factors": ["slit3"]}},
            {"name": "by_phase", "derive": {"phase": "transition"}},
            {"name": "none", "derive": {"phase": "initiation"}},
        ]
    }
    catalogue = build_catalogue(_raw_catalogue(), raw_sets, Path("cat"))
    assert catalogue.sets["by_factor"].genes("human") == ["SLIT3"]
    assert catalogue.sets["by_phase"].members[0].factor == "slit3"
    assert catalogue.sets["none"].genes() == []


@pytest.mark.parametrize(
    ("factor_fields", "raw_sets", "problem"),
    [
        ({"effect": "helpful"}, {}, "has effect 'helpful'"),
        ({"phases": ["resting"]}, {}, "unknown phases"),
        ({"references": ["r9"]}, {}, "cites unknown keys ['r9']"),
        ({"genes": [{"mouse": "Slit3"}]}, {}, "needs 'mouse' and 'human'"),
        ({}, {"sets": [{"name": "s", "derive": {"factors": ["nope"]}}]}, "unknown factors"),
        ({}, {"sets": [{"name": "s", "members": [{"mouse": "A", "human": "A"}]}]}, "no refer"),
    ],
)
def test_build_rejects_malformed_yaml_naming_the_entry(factor_fields, raw_sets, problem):
    with pytest.raises(ValueError) as err:
        build_catalogue(_raw_catalogue(**factor_fields), raw_sets, Path("cat"))
    assert problem in str(err.value) and "cat/" in str(err.value)


def test_flagging_sets_are_the_clastokine_sets():
    flagging = genesets.flagging_sets()
    assert flagging == ["clastokines_secreted", "clastokines_putative"]
    catalogue = genesets.load()
    assert [n for n, s in catalogue.sets.items() if s.flags] == flagging
    assert all(catalogue.sets[n].category == "clastokine" for n in flagging)


def test_no_flagging_set_shares_a_gene_with_the_lineage_calls():
    from scclast.tl._lineage import lineage_gene_sets

    for species in genesets.SPECIES:
        lineage = {g for genes in lineage_gene_sets(species).values() for g in genes}
        for name in genesets.flagging_sets():
            assert not set(genesets.get(name, species)) & lineage, (name, species)


def test_retired_sets_say_why_and_what_replaces_them():
    with pytest.raises(
        ScclastInputError, match=r"was retired: Retired in catalogue 2027\.1\.0.*Tnfrsf11a"
    ):
        genesets.get("phase_termination")
    with pytest.raises(ScclastInputError, match="phase_transition_anabolic"):
        genesets.resolve_gene_sets(["phase_transition"])
    assert "phase_termination" not in genesets.names()


def test_gene_caveats_reach_driver_genes_in_both_species():
    mouse, human = genesets.gene_caveats("mouse"), genesets.gene_caveats("human")
    assert "osteoblast" in mouse["Slit3"] and "Li et al., 2020" in mouse["Slit3"]
    assert "PDGFRA" in human["PDGFB"] and "Xie et al., 2014" in human["PDGFB"]
    assert "liver" in mouse["Afm"] and "T and B cells" in human["SEMA4D"]
    assert "erythrocytes" in mouse["Car2"] and "CA2" in human
    assert set(mouse) >= {"Efnb2", "Cthrc1", "Tnfrsf11a", "Itgb3"}


def test_species_specific_members_drop_out_of_the_other_species(tmp_path):
    assert {"Ly6g", "Ngp"} <= set(genesets.get("exclusion_neutrophil", "mouse"))
    human = genesets.get("exclusion_neutrophil", "human")
    assert "None" not in human and len(human) == 6
    rows = genesets.export("human", "tsv").splitlines()
    assert not any(r.split("\t")[2] in ("", "None") for r in rows[1:])
    table = genesets.load().ortholog_table()
    assert "Ly6g" not in table["mouse_to_human"]


def test_ligand_receptor_pairs_name_complexes_as_liana_does():
    pairs = genesets.ligand_receptor_pairs("human")
    by_factor: dict[str, list] = {}
    for pair in pairs:
        by_factor.setdefault(pair.factor, []).append(pair)
    assert [(p.ligand, p.receptor) for p in by_factor["lif"]] == [("LIF", "IL6ST_LIFR")]
    assert [p.receptor for p in by_factor["bmp6"]] == [
        "BMPR1A_BMPR2",
        "BMPR1B_BMPR2",
        "ACVR1_BMPR2",
    ]
    assert len(by_factor["wnt10b"]) == 20 and by_factor["wnt10b"][0].receptor == "FZD1_LRP5"
    assert by_factor["s1p"][0].ligand == "SPHK1_SPNS2"
    rank = by_factor["vesicular_rank"][0]
    assert (rank.receptor, rank.direction, rank.ligand_measurable) == ("TNFSF11", "reverse", False)
    assert "mir324" not in by_factor and "afamin" not in by_factor
    row = by_factor["tgfb1"][0].as_row()
    assert list(row)[:2] == ["ligand", "receptor"] and row["source"] == "outside_review"


def test_outside_review_pairs_exist_in_the_liana_consensus_resource():
    liana = pytest.importorskip("liana")
    consensus = liana.resource.select_resource("consensus")
    known = set(zip(consensus["ligand"], consensus["receptor"], strict=True))
    outside = [p for p in genesets.ligand_receptor_pairs("human") if p.source == "outside_review"]
    cited = [p for p in outside if "dimitrov2024" in p.references]
    assert cited and len(outside) > len(cited)  # PDGFRA alone cites only Heldin 1999
    missing = [(p.ligand, p.receptor) for p in cited if (p.ligand, p.receptor) not in known]
    assert not missing


@pytest.mark.parametrize(
    ("factor_fields", "problem"),
    [
        ({"receptors_extra": [{"mouse": "X1", "human": "X1", "references": ["r1"]}]}, "source"),
        (
            {"receptors_extra": [{"mouse": "X1", "human": "X1", "source": "outside_review"}]},
            "cites nothing",
        ),
        (
            {"receptor_complexes": [{"subunits": ["Robo9"], "source": "table1", "references": []}]},
            "unknown genes ['Robo9']",
        ),
        (
            {"genes": [{"mouse": "Slit3", "human": "SLIT3", "caveat": "osteoblast-high"}]},
            "caveat on 'Slit3' cites nothing",
        ),
    ],
)
def test_build_rejects_malformed_receptor_and_caveat_fields(factor_fields, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        build_catalogue(_raw_catalogue(**factor_fields), {}, Path("cat"))


def test_build_derive_filters_effects_and_unmeasurable_factors():
    raw = _raw_catalogue()
    raw["factors"].append(
        {
            "id": "sema4d",
            "name": "SEMA4D",
            "category": "inhibitory",
            "effect": "inhibitory",
            "phases": ["transition"],
            "genes": [{"mouse": "Sema4d", "human": "SEMA4D"}],
            "references": ["r1"],
        }
    )
    raw["factors"].append({**raw["factors"][0], "id": "tgfb1", "measurable": False,
                           "genes": [{"mouse": "Tgfb1", "human": "TGFB1"}]})  # fmt: skip
    raw_sets = {
        "sets": [
            {
                "name": "up",
                "flags": False,
                "derive": {"phase": "transition", "effects": ["anabolic"]},
            },
            {"name": "down", "derive": {"phase": "transition", "effects": ["inhibitory"]}},
            {"name": "bad", "flags": "yes", "derive": {"factors": ["slit3"]}},
        ]
    }
    with pytest.raises(ValueError, match="set 'bad' needs flags: true or false"):
        build_catalogue(raw, raw_sets, Path("cat"))
    catalogue = build_catalogue(raw, {"sets": raw_sets["sets"][:2]}, Path("cat"))
    assert catalogue.sets["up"].genes() == ["Slit3"]  # Tgfb1 is not measurable
    assert catalogue.sets["down"].genes() == ["Sema4d"]

"""Content checks for the clastokine catalogue against Daponte et al. (2024) eLife 13:e95083.

These tests read ``gene_sets/catalogue.yaml`` and ``gene_sets/gene_sets.yaml`` directly
with ``yaml.safe_load`` (not through scclast code) and assert the scientific content:
Table 1 coverage, memberships, remodeling phases, effects, citations and symbol style.
Set expansion (``derive``) is re-implemented minimally here so the data can be checked
independently of the production loader.
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests._paths import REPO_ROOT

GENE_SETS_DIR = REPO_ROOT / "gene_sets"

# Factor column of Table 1 (parsed once from the review's Table 1; hard-coded because the
# reference copy is not shipped with the repository).
TABLE1_FACTORS = (
    "EFNB2",
    "TGF-β1",
    "IGF-1",
    "S1P",
    "WNT10B",
    "C3a",
    "CTHRC1",
    "WNT5A",
    "SLIT3",
    "CT-1",
    "LIF",
    "BMP6",
    "Afamin",
    "PDGF-BB",
    "HGF",
    "CXCL16",
    "Vesicular RANK",
    "miR-214-3p",
    "miR-324",
)

ALLOWED_CATEGORIES = {
    "membrane_bound",
    "matrix_derived",
    "secreted",
    "putative",
    "ev_contained",
    "inhibitory",
    "contact",
}
ALLOWED_EFFECTS = {"anabolic", "inhibitory", "controversial"}
ALLOWED_PHASES = {"initiation", "transition", "termination"}
ALLOWED_EVIDENCE = {"in_vitro", "in_vivo"}
ALLOWED_SET_CATEGORIES = {
    "clastokine",
    "coupling",
    "receptor",
    "phase",
    "lineage",
    "exclusion",
    "machinery",
}
ANABOLIC_SETS = (
    "clastokines_secreted",
    "clastokines_putative",
    "coupling_contact",
    "phase_initiation_anabolic",
    "phase_transition_anabolic",
)
INHIBITORY_SETS = (
    "coupling_inhibitory",
    "phase_initiation_inhibitory",
    "phase_transition_inhibitory",
)
LINEAGE_GATE_SETS = (
    "lineage_myeloid",
    "state_macrophage",
    "state_oc_precursor",
    "state_osteoclast",
    "exclusion_neutrophil",
    "exclusion_dendritic_cell",
)
EXPECTED_SETS = {
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
    *LINEAGE_GATE_SETS,
    "secretory_machinery",
    "receiver_osteoprogenitor",
    "receiver_osteoblast",
    "receiver_osteocyte",
}
RETIRED_SETS = {"phase_initiation", "phase_transition", "phase_termination"}
UNMEASURABLE = {"tgfb1", "igf1", "vesicular_rank", "mir324"}
VERSION_RE = re.compile(r"^\d{4}\.\d{1,2}\.\d+$")

MOUSE_RE = re.compile(r"^[A-Z][A-Za-z0-9-]*$")
HUMAN_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")
GO_RE = re.compile(r"^GO:\d{7}$")
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def catalogue() -> dict:
    with open(GENE_SETS_DIR / "catalogue.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def gene_sets(catalogue) -> dict:
    with open(GENE_SETS_DIR / "gene_sets.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def factors(catalogue) -> dict:
    return {f["id"]: f for f in catalogue["factors"]}


@pytest.fixture(scope="module")
def sets_by_name(gene_sets) -> dict:
    return {s["name"]: s for s in gene_sets["sets"]}


def derived_entries(set_def: dict, factors: dict) -> list[dict]:
    """Gene entries a set takes from factor records (empty if the set has no derive).

    Mirrors the documented rules: ``effects`` filters factors by effect, and a factor
    with ``measurable: false`` contributes no genes (its receptors still count).
    """
    derive = set_def.get("derive")
    if not derive:
        return []
    field = derive["field"]
    if "factors" in derive:
        chosen = [factors[fid] for fid in derive["factors"]]
    else:
        chosen = [f for f in factors.values() if derive["phase"] in f["phases"]]
    if "effects" in derive:
        chosen = [f for f in chosen if f["effect"] in derive["effects"]]
    if field == "genes":
        chosen = [f for f in chosen if f.get("measurable", True)]
    return [entry for f in chosen for entry in f[field]]


def expand(set_def: dict, factors: dict) -> list[tuple[str, str]]:
    """(mouse, human) pairs of a set, derived entries first, de-duplicated in order."""
    pairs = [(e["mouse"], e["human"]) for e in derived_entries(set_def, factors)]
    pairs += [(m["mouse"], m["human"]) for m in set_def.get("members", [])]
    return list(dict.fromkeys(pairs))


def mouse_genes(set_def: dict, factors: dict) -> set[str]:
    return {m for m, _ in expand(set_def, factors) if m}


def human_genes(set_def: dict, factors: dict) -> set[str]:
    return {h for _, h in expand(set_def, factors) if h}


def all_gene_entries(catalogue: dict, gene_sets: dict) -> list[dict]:
    entries = []
    for f in catalogue["factors"]:
        entries += f["genes"] + f["receptors"] + f.get("receptors_extra", [])
    for s in gene_sets["sets"]:
        entries += s.get("members", [])
    return entries


def complex_genes(factor: dict, source: str | None = None) -> set[str]:
    """Mouse symbols named by a factor's receptor complexes (of one source, if given)."""
    genes = set()
    for complex_ in factor.get("receptor_complexes", []):
        if source is None or complex_["source"] == source:
            for unit in complex_["subunits"]:
                genes |= set(unit) if isinstance(unit, list) else {unit}
    return genes


def by_abbreviation(factors: dict) -> dict:
    return {f["abbreviation"].casefold(): f for f in factors.values()}


# --------------------------------------------------------------------------- catalogue header


def test_version_and_source(catalogue):
    # Calendar version with a patch number, as every earlier catalogue (2026.11.0).
    assert catalogue["catalogue_version"] == "2027.1.1"
    assert VERSION_RE.match(catalogue["catalogue_version"])
    assert catalogue["source"]["doi"] == "10.7554/eLife.95083"
    assert "Daponte" in catalogue["source"]["citation"]


def test_factor_ids_unique_and_snake_case(catalogue):
    ids = [f["id"] for f in catalogue["factors"]]
    assert len(ids) == len(set(ids))
    assert all(ID_RE.match(i) for i in ids), ids


def test_expected_factor_ids_present(factors):
    expected = {
        "efnb2", "tgfb1", "igf1", "s1p", "wnt10b", "c3a", "cthrc1", "wnt5a", "slit3", "ct1",
        "lif", "bmp6", "afamin", "pdgfbb", "hgf", "cxcl16", "vesicular_rank", "mir214_3p",
        "mir324", "sema4d", "connexin43", "efna2",
    }  # fmt: skip
    assert expected == set(factors)


# --------------------------------------------------------------------------- Table 1


@pytest.mark.parametrize("name", TABLE1_FACTORS)
def test_table1_factor_has_record(name, factors):
    record = by_abbreviation(factors).get(name.casefold())
    assert record is not None, f"no record with abbreviation {name!r}"
    assert record["in_table1"] is True


def test_exactly_the_table1_rows_are_flagged(factors):
    flagged = {f["abbreviation"].casefold() for f in factors.values() if f["in_table1"]}
    assert flagged == {n.casefold() for n in TABLE1_FACTORS}


def test_text_only_factors_not_in_table1(factors):
    for fid in ("sema4d", "connexin43", "efna2"):
        assert factors[fid]["in_table1"] is False


def test_table1_receptors(factors):
    """Receptors as in Table 1 (N/A rows have none)."""
    expected = {
        "efnb2": {"Ephb4"},
        "tgfb1": {"Tgfbr1"},
        "igf1": {"Igf1r"},
        "s1p": {"S1pr1", "S1pr2", "S1pr3"},
        "wnt10b": set(),
        "c3a": {"C3ar1"},
        "cthrc1": {"Tpbg", "Ror2"},
        "wnt5a": set(),
        "slit3": {"Robo1", "Robo2"},
        "ct1": {"Lifr", "Il6st"},
        "lif": {"Lifr", "Il6st"},
        "bmp6": set(),
        "afamin": set(),
        "pdgfbb": {"Pdgfrb"},
        "hgf": {"Met"},
        "cxcl16": set(),
        "vesicular_rank": {"Tnfsf11"},
        "mir214_3p": {"Epha2"},
        "mir324": set(),
        "sema4d": {"Plxnb1", "Erbb2"},
        "efna2": {"Epha2"},
        "connexin43": set(),
    }
    for fid, receptors in expected.items():
        assert {r["mouse"] for r in factors[fid]["receptors"]} == receptors, fid


def test_factor_genes(factors):
    expected = {
        "efnb2": {"Efnb2"},
        "tgfb1": {"Tgfb1"},
        "igf1": {"Igf1"},
        "s1p": {"Sphk1", "Spns2"},
        "wnt10b": {"Wnt10b"},
        "c3a": {"C3"},
        "cthrc1": {"Cthrc1"},
        "wnt5a": {"Wnt5a"},
        "slit3": {"Slit3"},
        "ct1": {"Ctf1"},
        "lif": {"Lif"},
        "bmp6": {"Bmp6"},
        "afamin": {"Afm"},
        "pdgfbb": {"Pdgfb"},
        "hgf": {"Hgf"},
        "cxcl16": {"Cxcl16"},
        "vesicular_rank": {"Tnfrsf11a"},
        "sema4d": {"Sema4d"},
        "connexin43": {"Gja1"},
        "efna2": {"Efna2"},
        "mir324": set(),
    }
    for fid, genes in expected.items():
        assert {g["mouse"] for g in factors[fid]["genes"]} == genes, fid


# --------------------------------------------------------------------------- record fields


def test_allowed_values(factors):
    for f in factors.values():
        assert f["category"] in ALLOWED_CATEGORIES, f["id"]
        assert f["effect"] in ALLOWED_EFFECTS, f["id"]
        assert set(f["phases"]) <= ALLOWED_PHASES, f["id"]
        assert len(f["phases"]) == len(set(f["phases"])), f["id"]
        assert set(f["evidence"]) <= ALLOWED_EVIDENCE, f["id"]
        assert isinstance(f["in_table1"], bool), f["id"]
        assert isinstance(f["description"], str) and len(f["description"]) > 40, f["id"]


def test_categories_follow_table1_groups(factors):
    expected = {
        "efnb2": "membrane_bound",
        "tgfb1": "matrix_derived",
        "igf1": "matrix_derived",
        "s1p": "secreted",
        "wnt10b": "secreted",
        "c3a": "secreted",
        "cthrc1": "secreted",
        "wnt5a": "secreted",
        "slit3": "secreted",
        "ct1": "secreted",
        "lif": "secreted",
        "bmp6": "putative",
        "afamin": "putative",
        "pdgfbb": "putative",
        "hgf": "putative",
        "cxcl16": "putative",
        "vesicular_rank": "ev_contained",
        "mir214_3p": "ev_contained",
        "mir324": "ev_contained",
        "sema4d": "inhibitory",
        "connexin43": "contact",
    }
    for fid, category in expected.items():
        assert factors[fid]["category"] == category, fid


def test_effects(factors):
    assert factors["sema4d"]["effect"] == "inhibitory"
    assert factors["mir214_3p"]["effect"] == "inhibitory"
    assert factors["pdgfbb"]["effect"] == "controversial"
    anabolic = set(factors) - {"sema4d", "mir214_3p", "pdgfbb", "efna2"}
    for fid in anabolic:
        assert factors[fid]["effect"] == "anabolic", fid


def test_phases_follow_figure4_legend(factors):
    for fid in ("c3a", "pdgfbb", "sema4d"):
        assert factors[fid]["phases"] == ["initiation"], fid
    assert set(factors["vesicular_rank"]["phases"]) == {"transition", "termination"}
    assert [f for f in factors if "termination" in factors[f]["phases"]] == ["vesicular_rank"]
    for fid in ("tgfb1", "igf1", "efnb2", "connexin43", "mir214_3p", "mir324", "slit3"):
        assert "transition" in factors[fid]["phases"], fid


def test_evidence_matches_table1(factors):
    assert factors["efnb2"]["evidence"] == ["in_vitro", "in_vivo"]
    assert factors["wnt5a"]["evidence"] == ["in_vivo"]
    for fid in ("bmp6", "hgf", "cxcl16"):
        assert factors[fid]["evidence"] == ["in_vitro"], fid


def test_measured_via_for_non_gene_factors(factors):
    for fid in ("s1p", "c3a", "pdgfbb", "tgfb1", "igf1", "vesicular_rank", "mir214_3p", "mir324"):
        text = factors[fid]["measured_via"]
        assert isinstance(text, str) and len(text) > 40, fid
    assert "lipid" in factors["s1p"]["measured_via"].lower()
    assert "matrix" in factors["tgfb1"]["measured_via"].lower()
    for fid in ("wnt10b", "slit3", "sema4d", "efnb2"):
        assert factors[fid]["measured_via"] is None, fid


def test_mirna_records_explain_poly_a_capture(factors):
    mirnas = [f for f in factors.values() if f["abbreviation"].startswith("miR")]
    assert {f["id"] for f in mirnas} == {"mir214_3p", "mir324"}
    for f in mirnas:
        text = f["measured_via"].lower()
        assert "poly" in text and ("10x" in text or "droplet" in text), f["id"]
        assert not any(g["mouse"].startswith("Mir") for g in f["genes"]), f["id"]


def test_no_mirna_gene_symbols_anywhere(catalogue, gene_sets):
    for entry in all_gene_entries(catalogue, gene_sets):
        assert not (entry["mouse"] or "").startswith("Mir"), entry
        assert not (entry["human"] or "").startswith("MIR"), entry


def test_controversy_notes(factors):
    notes = {fid: (f["notes"] or "").lower() for fid, f in factors.items()}
    assert "trap" in notes["cthrc1"] and "jin" in notes["cthrc1"]
    assert "ctsk-cre" in notes["slit3"] and "li et al., 2020" in notes["slit3"]
    assert "in vitro" in notes["pdgfbb"] and "in vivo" in notes["pdgfbb"]
    assert "nash" in notes["pdgfbb"] and "kubota" in notes["pdgfbb"]
    assert "autocrine" in notes["s1p"] and "osteoclast differentiation" in notes["s1p"]
    for fid in ("mir214_3p", "mir324"):
        assert "poly" in notes[fid], fid


# --------------------------------------------------------------------------- references


def test_every_factor_cites_something(factors):
    for f in factors.values():
        assert len(f["references"]) >= 1, f["id"]


def test_reference_keys_exist(catalogue, gene_sets):
    refs = catalogue["references"]
    used = [k for f in catalogue["factors"] for k in f["references"]]
    used += [k for s in gene_sets["sets"] for m in s.get("members", []) for k in m["references"]]
    for f in catalogue["factors"]:
        used += [k for g in f["genes"] for k in g.get("caveat_references", [])]
        used += [k for r in f.get("receptors_extra", []) for k in r["references"]]
        used += [k for c in f.get("receptor_complexes", []) for k in c["references"]]
    missing = sorted(set(used) - set(refs))
    assert not missing, missing


def test_reference_entries_well_formed(catalogue):
    for key, ref in catalogue["references"].items():
        assert ID_RE.match(key), key
        assert isinstance(ref["cited_as"], str) and ref["cited_as"], key
        assert isinstance(ref["citation"], str) and ref["citation"], key
        assert ref["doi"] is None or DOI_RE.match(ref["doi"]), key


def test_key_citations(catalogue):
    refs = catalogue["references"]
    assert refs["mcdonald2021"]["doi"] == "10.1016/j.cell.2021.02.002"
    assert refs["tsukasaki2020"]["doi"] == "10.1038/s42255-020-00318-y"
    assert refs["zhao2006"]["doi"] == "10.1016/j.cmet.2006.05.012"
    assert refs["ikebuchi2018"]["doi"] == "10.1038/s41586-018-0482-7"
    assert refs["ota2013a"]["cited_as"] == "Ota et al., 2013a"
    assert refs["sims2010"]["cited_as"] == "Sims and Walsh, 2010"


def test_kim2023_is_the_reviews_own_reference_bib79(catalogue, factors):
    """Item 12: the review's 'Kim et al., 2023' (xref bib79) is the Cell Commun Signal
    paper on TLR4-induced SLIT3 in macrophages, not Kim BJ et al., JCI 2018 (bib78)."""
    refs = catalogue["references"]
    assert refs["kim2023"]["doi"] == "10.1186/s12964-023-01226-w"
    assert refs["kim2023"]["citation"].startswith("Kim EY, Kim JE, Chung SH, Park JE")
    assert "bib79" in refs["kim2023"]["note"] and "kim2018" in refs["kim2023"]["note"]
    assert refs["kim2018"]["doi"] == "10.1172/JCI91086"
    assert {"kim2018", "kim2023"} <= set(factors["slit3"]["references"])


def test_table1_citations_attached(factors):
    expected = {
        "efnb2": {"zhao2006", "tonna2014"},
        "tgfb1": {"tang2009", "ota2013a", "ota2013b"},
        "igf1": {"xian2012"},
        "s1p": {"ryu2006", "quint2013", "pederson2008", "keller2014", "lotinun2013"},
        "wnt10b": {"ota2013a", "pederson2008", "zheng2019", "hsiao2020"},
        "c3a": {"matsuoka2014"},
        "cthrc1": {"kimura2008", "takeshita2013", "matsuoka2018"},
        "wnt5a": {"roberts2020"},
        "slit3": {"kim2018", "shin2020"},
        "ct1": {"sims2010", "walker2008", "walker2010"},
        "lif": {"ota2013b", "sims2010", "walker2010"},
        "bmp6": {"pederson2008"},
        "afamin": {"kim2012"},
        "pdgfbb": {"kreja2010", "sanchezfernandez2008", "kubota2002", "nash1994", "mitlak1996"},
        "hgf": {"grano1996", "chen2012"},
        "cxcl16": {"ota2013b"},
        "vesicular_rank": {"ikebuchi2018"},
        "mir214_3p": {"li2016", "wang2013", "shi2013"},
        "mir324": {"liang2021"},
    }
    for fid, keys in expected.items():
        assert keys <= set(factors[fid]["references"]), fid


# --------------------------------------------------------------------------- gene symbols


def test_symbol_style(catalogue, gene_sets):
    for entry in all_gene_entries(catalogue, gene_sets):
        mouse, human = entry["mouse"], entry["human"]
        assert mouse or human, entry
        if mouse is not None:
            assert MOUSE_RE.match(mouse), mouse
            rest_letters = [c for c in mouse[1:] if c.isalpha()]
            assert not rest_letters or any(c.islower() for c in rest_letters), mouse
        if human is not None:
            assert HUMAN_RE.match(human) and human == human.upper(), human
        assert isinstance(entry["role"], str) and entry["role"], entry


def test_species_specific_genes_say_so(catalogue, gene_sets):
    one_sided = [
        e for e in all_gene_entries(catalogue, gene_sets) if not (e["mouse"] and e["human"])
    ]
    assert {e["mouse"] for e in one_sided} == {"Ly6g", "Ngp"}
    for entry in one_sided:
        assert "no human ortholog" in entry["role"], entry


def test_mouse_human_pairs_consistent(catalogue, gene_sets):
    mapping: dict[str, str] = {}
    for entry in all_gene_entries(catalogue, gene_sets):
        if not (entry["mouse"] and entry["human"]):
            continue
        previous = mapping.setdefault(entry["mouse"], entry["human"])
        assert previous == entry["human"], (entry["mouse"], previous, entry["human"])
    reverse: dict[str, str] = {}
    for mouse, human in mapping.items():
        assert reverse.setdefault(human, mouse) == mouse, human


def test_known_ortholog_pairs(catalogue, gene_sets):
    expected = {
        "C3ar1": "C3AR1",
        "Il6st": "IL6ST",
        "Tnfsf11": "TNFSF11",
        "Tnfrsf11a": "TNFRSF11A",
        "Afm": "AFM",
        "Ctf1": "CTF1",
        "Tpbg": "TPBG",
        "Sphk1": "SPHK1",
        "Spns2": "SPNS2",
        "Gja1": "GJA1",
        "Plxnb1": "PLXNB1",
        "Erbb2": "ERBB2",
        "Met": "MET",
        "Pdgfrb": "PDGFRB",
        "Dnm3os": "DNM3OS",
        "Car2": "CA2",
        "Tgfbr2": "TGFBR2",
        "Cxcr6": "CXCR6",
        "Zbtb46": "ZBTB46",
    }
    mapping = {e["mouse"]: e["human"] for e in all_gene_entries(catalogue, gene_sets)}
    for mouse, human in expected.items():
        assert mapping.get(mouse) == human, mouse


# --------------------------------------------------------------------------- set structure


def test_expected_sets_and_no_osteomorph_set(gene_sets):
    names = [s["name"] for s in gene_sets["sets"]]
    assert len(names) == len(set(names))
    assert set(names) == EXPECTED_SETS
    assert not any("osteomorph" in n for n in names)


def test_set_fields(gene_sets, factors):
    for s in gene_sets["sets"]:
        assert s["category"] in ALLOWED_SET_CATEGORIES, s["name"]
        assert isinstance(s["flags"], bool), s["name"]
        assert isinstance(s["description"], str) and len(s["description"]) > 40, s["name"]
        assert "derive" in s or "members" in s, s["name"]
        derive = s.get("derive")
        if derive:
            assert derive["field"] in {"genes", "receptors"}, s["name"]
            assert ("factors" in derive) != ("phase" in derive), s["name"]
            if "factors" in derive:
                unknown = set(derive["factors"]) - set(factors)
                assert not unknown, (s["name"], unknown)
            else:
                assert derive["phase"] in ALLOWED_PHASES, s["name"]
            assert set(derive.get("effects", [])) <= ALLOWED_EFFECTS, s["name"]
        assert expand(s, factors), f"{s['name']} is empty"


def test_only_clastokine_sets_flag(gene_sets):
    flagging = [s["name"] for s in gene_sets["sets"] if s["flags"]]
    assert flagging == ["clastokines_secreted", "clastokines_putative"]
    for s in gene_sets["sets"]:
        assert s["flags"] == (s["category"] == "clastokine"), s["name"]


def test_no_flagging_set_overlaps_a_lineage_or_state_set(sets_by_name, factors):
    """A flag must never be earned by the genes that define the lineage call."""
    gate = set().union(*(mouse_genes(sets_by_name[n], factors) for n in LINEAGE_GATE_SETS))
    gate_h = set().union(*(human_genes(sets_by_name[n], factors) for n in LINEAGE_GATE_SETS))
    for s in sets_by_name.values():
        if s["flags"]:
            assert not mouse_genes(s, factors) & gate, s["name"]
            assert not human_genes(s, factors) & gate_h, s["name"]
    # ...and the descriptive matrix-release readout does overlap (so it must not flag).
    overlap = mouse_genes(sets_by_name["coupling_matrix_release"], factors) & gate
    assert overlap == {"Acp5", "Ctsk", "Mmp9", "Atp6v0d2", "Tcirg1"}
    assert sets_by_name["coupling_matrix_release"]["flags"] is False
    assert "never a flagging set" in sets_by_name["coupling_matrix_release"]["description"]


def test_unmeasurable_factors_give_no_genes_to_any_set(catalogue, sets_by_name, factors):
    """Items 1 and 3: matrix-stored ligands and vesicle-carried RANK are not scored."""
    assert {f["id"] for f in catalogue["factors"] if f.get("measurable") is False} == UNMEASURABLE
    for fid in UNMEASURABLE:
        assert factors[fid]["measured_via"], fid
    unmeasurable_genes = {"Tgfb1", "Igf1", "Tnfrsf11a"}
    for s in sets_by_name.values():
        if s["category"] in ("clastokine", "coupling", "phase"):
            assert not mouse_genes(s, factors) & unmeasurable_genes, s["name"]
    # Their receptors still pair with them.
    receptors = mouse_genes(sets_by_name["clastokine_receptors_osteoblast"], factors)
    assert {"Tgfbr1", "Igf1r", "Tnfsf11"} <= receptors


def test_retired_sets_explain_themselves(gene_sets):
    retired = gene_sets["retired"]
    assert set(retired) == RETIRED_SETS
    assert not RETIRED_SETS & {s["name"] for s in gene_sets["sets"]}
    assert "Tnfrsf11a" in retired["phase_termination"]
    assert "precursors" in retired["phase_termination"]


def test_explicit_members_cited(gene_sets, catalogue):
    for s in gene_sets["sets"]:
        for m in s.get("members", []):
            assert m.get("references") or m.get("go"), (s["name"], m["mouse"])
            if m.get("go") is not None:
                assert GO_RE.match(m["go"]), (s["name"], m["mouse"], m["go"])


def test_lineage_members_have_literature(sets_by_name):
    for name in LINEAGE_GATE_SETS:
        for m in sets_by_name[name]["members"]:
            assert m["references"], (name, m["mouse"])


def test_no_duplicate_genes_within_sets(gene_sets, factors):
    for s in gene_sets["sets"]:
        explicit = [m["mouse"] or m["human"] for m in s.get("members", [])]
        assert len(explicit) == len(set(explicit)), s["name"]
        derived = {e["mouse"] for e in derived_entries(s, factors)}
        assert not derived & set(explicit), s["name"]
        pairs = expand(s, factors)
        mice = [m for m, _ in pairs if m]
        humans = [h for _, h in pairs if h]
        assert len(set(mice)) == len(mice) and len(set(humans)) == len(humans), s["name"]


# --------------------------------------------------------------------------- set contents


def test_clastokines_secreted(sets_by_name, factors):
    s = sets_by_name["clastokines_secreted"]
    assert mouse_genes(s, factors) == {
        "Sphk1", "Spns2", "Wnt10b", "C3", "Cthrc1", "Wnt5a", "Slit3", "Ctf1", "Lif",
    }  # fmt: skip
    assert "SLIT3" in human_genes(s, factors)
    assert s["category"] == "clastokine"


def test_clastokines_putative(sets_by_name, factors):
    s = sets_by_name["clastokines_putative"]
    assert mouse_genes(s, factors) == {"Bmp6", "Afm", "Pdgfb", "Hgf", "Cxcl16"}
    assert "CXCL16" in human_genes(s, factors)


def test_coupling_contact(sets_by_name, factors):
    assert mouse_genes(sets_by_name["coupling_contact"], factors) == {"Efnb2", "Gja1"}


def test_sema4d_inhibitory_only(sets_by_name, factors):
    assert "Sema4d" in mouse_genes(sets_by_name["coupling_inhibitory"], factors)
    assert "SEMA4D" in human_genes(sets_by_name["coupling_inhibitory"], factors)
    for name in ANABOLIC_SETS:
        assert "Sema4d" not in mouse_genes(sets_by_name[name], factors), name


def test_inhibitory_set_has_no_anabolic_factor_genes(sets_by_name, factors):
    anabolic_genes = {
        g["mouse"] for f in factors.values() if f["effect"] == "anabolic" for g in f["genes"]
    }
    assert not mouse_genes(sets_by_name["coupling_inhibitory"], factors) & anabolic_genes


def test_matrix_release(sets_by_name, factors):
    genes = mouse_genes(sets_by_name["coupling_matrix_release"], factors)
    assert {"Acp5", "Ctsk", "Mmp9", "Bmp1"} <= genes
    assert {"Atp6v0d2", "Tcirg1", "Clcn7", "Ostm1"} <= genes
    assert not genes & {"Tgfb1", "Igf1"}
    description = sets_by_name["coupling_matrix_release"]["description"]
    assert "Tgfb1" in description and "Igf1" in description


def test_coupling_ev(sets_by_name, factors):
    genes = mouse_genes(sets_by_name["coupling_ev"], factors)
    # RANK rides on the vesicles but its transcript marks precursors onwards (item 1).
    assert genes == {"Efna2", "Dnm3os"}
    assert not any(g.startswith("Mir") for g in genes)


def test_receptor_set(sets_by_name, factors):
    s = sets_by_name["clastokine_receptors_osteoblast"]
    assert s["derive"]["field"] == "receptors"
    assert mouse_genes(s, factors) == {
        "Ephb4", "Tgfbr1", "Igf1r", "S1pr1", "S1pr2", "S1pr3", "C3ar1", "Tpbg", "Ror2",
        "Robo1", "Robo2", "Lifr", "Il6st", "Pdgfrb", "Met", "Tnfsf11", "Epha2", "Plxnb1",
        "Erbb2",
    }  # fmt: skip
    assert "members" not in s


def test_phase_sets_split_anabolic_from_inhibitory(sets_by_name, factors):
    """Item 3: no phase set sums pro- and anti-formation factors."""
    assert mouse_genes(sets_by_name["phase_initiation_anabolic"], factors) == {"C3", "Pdgfb"}
    assert mouse_genes(sets_by_name["phase_initiation_inhibitory"], factors) == {"Sema4d"}
    assert mouse_genes(sets_by_name["phase_transition_anabolic"], factors) == {
        "Efnb2", "Gja1", "Sphk1", "Spns2", "Wnt10b", "Cthrc1", "Wnt5a", "Slit3", "Ctf1", "Lif",
    }  # fmt: skip
    inhibitory = mouse_genes(sets_by_name["phase_transition_inhibitory"], factors)
    assert inhibitory == {"Dnm3os", "Efna2"}
    for name in ("initiation", "transition"):
        for side in ("anabolic", "inhibitory"):
            derive = sets_by_name[f"phase_{name}_{side}"]["derive"]
            assert derive["phase"] == name, (name, side)
    inhibitory_genes = {
        g["mouse"] for f in factors.values() if f["effect"] == "inhibitory" for g in f["genes"]
    }
    anabolic_genes = {
        g["mouse"] for f in factors.values() if f["effect"] == "anabolic" for g in f["genes"]
    }
    for name in ANABOLIC_SETS:
        assert not mouse_genes(sets_by_name[name], factors) & inhibitory_genes, name
    for name in INHIBITORY_SETS:
        assert not mouse_genes(sets_by_name[name], factors) & anabolic_genes, name


def test_no_phase_set_holds_a_precursor_marker(sets_by_name, factors):
    """Item 1: a precursor marker never stands for a remodeling phase."""
    precursor = mouse_genes(sets_by_name["state_oc_precursor"], factors)
    for name, s in sets_by_name.items():
        if s["category"] == "phase":
            assert not mouse_genes(s, factors) & precursor, name


def test_putative_clastokine_phases_say_where_they_come_from(factors):
    """Item 4: the legend places PDGF-BB; the others are not placed, and say so."""
    assert factors["pdgfbb"]["phases"] == ["initiation"]
    assert "legend" in factors["pdgfbb"]["phase_note"]
    for fid in ("bmp6", "afamin", "hgf", "cxcl16"):
        assert factors[fid]["phases"] == [], fid
        assert (
            "italics" in factors[fid]["phase_note"] and "Not placed" in factors[fid]["phase_note"]
        )


def test_lineage_sets(sets_by_name, factors):
    """Items 5, 7, 8: ordered early/late modules, macrophage contrast, exclusions."""
    myeloid = mouse_genes(sets_by_name["lineage_myeloid"], factors)
    assert {"Ptprc", "Spi1", "Csf1r", "Lyz2", "Cd68", "Tyrobp", "Fcer1g"} <= myeloid
    early = mouse_genes(sets_by_name["state_oc_precursor"], factors)
    assert early == {"Tnfrsf11a", "Nfatc1", "Dcstamp", "Ocstamp", "Itgax"}
    late = mouse_genes(sets_by_name["state_osteoclast"], factors)
    assert late == {"Acp5", "Ctsk", "Mmp9", "Calcr", "Atp6v0d2", "Tcirg1", "Oscar", "Itgb3", "Car2"}
    assert not early & late, "the early and late modules must not share a gene (Nfatc1)"
    assert not early & {"Fos", "Cited2"}
    macrophage = mouse_genes(sets_by_name["state_macrophage"], factors)
    assert {"Adgre1", "Irf8", "Mafb", "Bcl6", "Cd14"} <= macrophage
    assert "Cx3cr1" not in macrophage
    assert not macrophage & (late | early)
    assert {"IRF8", "MAFB", "CD14"} <= human_genes(sets_by_name["state_macrophage"], factors)
    cited = {m["mouse"]: set(m["references"]) for m in sets_by_name["state_macrophage"]["members"]}
    assert "zhao2009" in cited["Irf8"] and "kim2007" in cited["Mafb"]
    assert "miyauchi2010" in cited["Bcl6"] and "massey1999" in cited["Cd14"]
    description = sets_by_name["state_macrophage"]["description"]
    assert "Cx3cr1" in description and "Hasegawa" in description and "C1q" in description
    precursor_description = sets_by_name["state_oc_precursor"]["description"]
    assert "NFATc1 sits here only" in precursor_description
    assert "van den Brink" in precursor_description
    itgax = next(m for m in sets_by_name["state_oc_precursor"]["members"] if m["mouse"] == "Itgax")
    assert "tsukasaki2020" in itgax["references"]
    car2 = next(m for m in sets_by_name["state_osteoclast"]["members"] if m["mouse"] == "Car2")
    assert car2["human"] == "CA2" and "sly1983" in car2["references"]
    assert "erythrocytes" in car2["caveat"]
    late_description = sets_by_name["state_osteoclast"]["description"]
    for considered in ("Siglec15", "Mmp14", "Src"):
        assert considered in late_description, considered
    for name in ("lineage_myeloid", "state_macrophage", "state_oc_precursor", "state_osteoclast"):
        assert sets_by_name[name]["category"] == "lineage", name


def test_exclusion_programmes(sets_by_name, factors):
    """Item 6: neutrophil and conventional-DC programmes, with human equivalents."""
    neutrophil = sets_by_name["exclusion_neutrophil"]
    assert mouse_genes(neutrophil, factors) == {
        "S100a8", "S100a9", "Ly6g", "Ngp", "Camp", "Ltf", "Cebpe", "Gfi1",
    }  # fmt: skip
    assert human_genes(neutrophil, factors) == {"S100A8", "S100A9", "CAMP", "LTF", "CEBPE", "GFI1"}
    dc = sets_by_name["exclusion_dendritic_cell"]
    assert mouse_genes(dc, factors) == {"Flt3", "Zbtb46", "Xcr1"}
    assert human_genes(dc, factors) == {"FLT3", "ZBTB46", "XCR1"}
    for s in (neutrophil, dc):
        assert s["category"] == "exclusion" and s["flags"] is False
        assert not mouse_genes(s, factors) & mouse_genes(
            sets_by_name["state_oc_precursor"], factors
        )
    assert "Retnlg" in neutrophil["description"]  # named in the issue, not added: says why


def test_secretory_machinery(sets_by_name, factors):
    s = sets_by_name["secretory_machinery"]
    members = s["members"]
    assert 20 <= len(members) <= 30
    assert all(GO_RE.match(m["go"]) for m in members)
    genes = mouse_genes(s, factors)
    assert {"Sec61a1", "Hspa5", "Sec23a", "Sar1a", "Rab27a", "Snap23", "Tsg101"} <= genes
    assert s["category"] == "machinery"


def test_secretory_machinery_is_a_depth_sensitive_context_readout(sets_by_name):
    """Item 13: kept, but reported as what it is."""
    description = sets_by_name["secretory_machinery"]["description"]
    assert description.startswith("Context readout, depth-sensitive")
    assert "never a flagging set" in description
    assert sets_by_name["secretory_machinery"]["flags"] is False


# --------------------------------------------------------------------------- receptors for pairing


def review_reference_keys() -> set[str]:
    """Reference keys listed under the 'sources cited by the review' heading."""
    text = (GENE_SETS_DIR / "catalogue.yaml").read_text(encoding="utf-8")
    start = text.index(
        "# ---------------------------------------------------------------- sources cited"
    )
    end = text.index(
        "# ---------------------------------------------------------------- sources outside"
    )
    return set(re.findall(r"(?m)^  ([a-z0-9_]+):$", text[start:end])) | {"daponte2024"}


def test_receptor_complexes_keep_table1_and_add_outside_candidates(factors):
    """Items 9-10: Table 1's own field is unchanged; candidates are marked and cited."""
    review_keys = review_reference_keys()
    assert {"kim2018", "ross1986", "watkins2011"} <= review_keys
    assert not {"tendijke2000", "dimitrov2024", "ebisawa1999"} & review_keys
    for fid, f in factors.items():
        table1 = {r["mouse"] for r in f["receptors"]}
        own = "table1" if f["in_table1"] else "review_text"
        assert table1 <= complex_genes(f), fid  # every Table 1 receptor is paired
        assert complex_genes(f, own) <= table1 | {"Gja1"}, fid  # only Table 1 genes (Cx43)
        for extra in f.get("receptors_extra", []):
            assert extra["source"] in ("outside_review", "review_text"), (fid, extra)
            if extra["source"] == "outside_review":
                assert set(extra["references"]) - review_keys, (fid, extra["mouse"])
        for complex_ in f.get("receptor_complexes", []):
            if complex_["source"] == "outside_review":
                assert set(complex_["references"]) - review_keys, (fid, complex_)
    extra = {fid: {r["mouse"] for r in f.get("receptors_extra", [])} for fid, f in factors.items()}
    assert extra["tgfb1"] == {"Tgfbr2"}
    assert extra["wnt10b"] == {f"Fzd{i}" for i in range(1, 11)} | {"Lrp5", "Lrp6"}
    assert extra["wnt5a"] == {"Ror2", "Ryk"}
    assert extra["bmp6"] == {"Bmpr1a", "Bmpr1b", "Acvr1", "Bmpr2"}
    assert extra["cxcl16"] == {"Cxcr6"}
    assert extra["pdgfbb"] == {"Pdgfra"}
    tgfb = factors["tgfb1"]["receptor_complexes"]
    assert [c["subunits"] for c in tgfb] == [["Tgfbr1", "Tgfbr2"]]
    assert factors["vesicular_rank"]["receptor_complexes"][0]["direction"] == "reverse"
    lif = factors["lif"]["receptor_complexes"]
    assert [c["subunits"] for c in lif] == [["Lifr", "Il6st"]]


def test_cell_of_origin_caveats(factors):
    """Item 11: the caveats a reader needs where a driver gene is read, with citations."""
    caveats = {g["mouse"]: g for f in factors.values() for g in f["genes"] if g.get("caveat")}
    expected = {
        "Pdgfb": ({"xie2014", "heldin1999"}, ("endothelium", "megakaryocytes", "PDGFRA")),
        "Afm": ({"dieplinger2015"}, ("liver",)),
        "Efnb2": ({"tonna2014", "wang1998"}, ("osteoblasts", "arterial endothelium")),
        "Slit3": ({"li2020"}, ("Osteoblast-high",)),
        "Cthrc1": ({"jin2017"}, ("Osteoblast-high",)),
        "Sema4d": ({"furuyama1996", "shi2000"}, ("T and B cells",)),
    }
    for gene, (refs, words) in expected.items():
        assert refs <= set(caveats[gene]["caveat_references"]), gene
        for word in words:
            assert word in caveats[gene]["caveat"], (gene, word)

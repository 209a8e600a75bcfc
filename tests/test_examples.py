"""Every lecture example runs (fast mode) and every lecture section has one."""

from __future__ import annotations

import os
import runpy
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
OURS = sorted(f for f in os.listdir(EXAMPLES) if f[:2].isdigit() and f.endswith(".py"))

# lecture section (docs/LECTURES.md) -> the examples that teach it
SECTIONS = {
    "1 computational graphs": ["01_graph_basics.py"],
    "2 neurons, layers, networks": ["02_neuron.py", "03_layer_shapes.py", "04_mlps.py",
                                    "15_universal_approximation.py", "16_xor.py",
                                    "17_linear_collapse.py"],
    "3 activations": ["05_activations.py"],
    "4 losses": ["06_losses.py"],
    "5 training": ["07_training.py"],
    "6 backprop and jacobians": ["08_backprop_by_hand.py", "09_jacobians.py"],
    "7 convolution and pooling": ["10_conv_filters.py", "11_pooling.py"],
    "8 architectures": ["12_lenet_digits.py", "13_digit_classifier_bn.py",
                        "14_alexnet_table.py"],
    "9 real networks": ["18_transformer_block.py", "19_resnet_block.py", "20_rnn_bptt.py"],
}


def test_every_lecture_section_has_its_examples():
    listed = [f for fs in SECTIONS.values() for f in fs]
    assert sorted(listed) == OURS


@pytest.mark.parametrize("script", OURS)
def test_example_runs_in_fast_mode(script, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRAPHNN_FAST", "1")
    monkeypatch.setattr(sys, "argv", [script, "--out", str(tmp_path)])
    monkeypatch.syspath_prepend(EXAMPLES)
    monkeypatch.chdir(tmp_path)
    try:
        with np.printoptions():  # scripts may set print options for their own process
            runpy.run_path(os.path.join(EXAMPLES, script), run_name="__main__")
    except SystemExit as e:  # scripts exit 0 when an optional extra is missing
        assert not e.code, e.code
    out = capsys.readouterr().out
    assert "EXPECTED" not in out

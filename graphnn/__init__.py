"""graphnn: a symbolic computational-graph compiler and visualizer for neural networks.

>>> import numpy as np, graphnn as gn
>>> with gn.Graph("neuron") as g:
...     x = gn.input("x", shape=(3,))
...     w = gn.param("w", np.array([0.5, -1.0, 2.0]))
...     b = gn.param("b", 0.1)
...     o = gn.sigmoid(gn.sum(w * x) + b)
>>> r = gn.run(g, {"x": [1.0, 2.0, 3.0]}, wrt=[w, b])
>>> float(np.round(r.value(o), 4)), np.round(r.grad(w), 4).tolist()
(0.99, [0.0099, 0.0197, 0.0296])
"""

from graphnn.core import ir as _ir  # noqa: F401, I001  (ir before op)
from graphnn.core.errors import (
    AnomalyError, DeviceError, FeedError, GradError, GraphError, GraphMismatchError, ParamError,
    ParseError, ShapeError,
)
from graphnn.core.ir import Graph, Node, const, current_graph, input, param
from graphnn.core.bind import bind
from graphnn.core.device import get_float32_matmul_precision, set_float32_matmul_precision
from graphnn.core.op import REGISTRY, Gpu, Onnx, Op, TraceText, Unsupported, get_op, register, tt
from graphnn.ops import *  # noqa: F403
from graphnn.ops import __dict__ as _ops_dict
from graphnn.run.autodiff import grad
from graphnn.run.forward import jvp
from graphnn.run.interpret import Run, run
from graphnn import testing  # noqa: E402, F401

__version__ = "0.1.0"

__all__ = [
    "AnomalyError", "DeviceError", "FeedError", "GradError", "Graph", "GraphError",
    "GraphMismatchError",
    "Gpu", "Node", "Onnx", "Op", "ParamError", "TraceText", "Unsupported", "tt",
    "ParseError", "REGISTRY", "Run", "ShapeError", "bind",
    "const", "current_graph", "get_float32_matmul_precision", "get_op", "grad", "input",
    "jvp", "param", "register", "run", "set_float32_matmul_precision",
] + [k for k in _ops_dict if not k.startswith("_") and callable(_ops_dict[k])]

# --- trace ---
from graphnn.io.sympy_in import from_sympy  # noqa: E402
from graphnn.run.jacobian import (  # noqa: E402
    Jacobian,
    JacobianCost,
    hessian,
    jacobian,
    jacobian_cost,
)
from graphnn.teach.localjac import jacobian_chain, local_jacobians  # noqa: E402
from graphnn.teach.quiz import Quiz, quiz  # noqa: E402
from graphnn.teach.symbolic import collapse_linear, formula, to_sympy  # noqa: E402
from graphnn.teach.trace import Step, Trace, trace, trace_forward  # noqa: E402

__all__ += ["Jacobian", "JacobianCost", "Step", "Trace", "collapse_linear", "formula",
            "from_sympy", "hessian", "jacobian", "jacobian_chain", "jacobian_cost",
            "local_jacobians", "Quiz", "quiz", "to_sympy", "trace", "trace_forward"]

# --- nn ---
from graphnn import data, nn, optim  # noqa: E402, I001
from graphnn.train import History, evaluate, fit, predict  # noqa: E402

__all__ += ["History", "data", "evaluate", "fit", "nn", "optim", "predict"]

# --- render ---
from graphnn.viz.draw import render  # noqa: E402
from graphnn.viz.text import format_graph  # noqa: E402

__all__ += ["format_graph", "render"]

# --- codegen ---
from graphnn.codegen.compiler import CompiledGraph, CompiledResult, compile  # noqa: E402
from graphnn.codegen.jacobian import CompiledJacobian, compile_jacobian  # noqa: E402

__all__ += ["compile", "CompiledGraph", "CompiledResult", "compile_jacobian", "CompiledJacobian"]

# --- interchange ---
# gn.save(target, path) by suffix (.json graph file, .npz values); gn.load(path) -> Graph,
# gn.load(path, model_or_graph) reads parameter values in place (graphnn/io)
from graphnn.io import FormatError, OnnxError, from_onnx, load, save, to_onnx  # noqa: E402

__all__ += ["FormatError", "OnnxError", "from_onnx", "load", "save", "to_onnx"]

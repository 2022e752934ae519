# lit configuration for attn: FileCheck tests of the dialect, passes and tools.
import os
import lit.formats

config.name = "attn"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs", "unit", "fuzz", "cmake", "document-skipping.test.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.attn_obj_root, "test")

tools = os.path.join(config.attn_obj_root, "tools")
config.environment["PATH"] = os.pathsep.join(
    [os.path.join(tools, "attn-opt"), os.path.join(tools, "attn-run"),
     os.path.join(tools, "attn-catalogue"),
     config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])])
config.substitutions.append(("%examples", os.path.join(config.attn_src_root, "examples")))
config.substitutions.append(("%python", config.python3))
config.substitutions.append(("%srcroot", config.attn_src_root))
config.substitutions.append(("%objroot", config.attn_obj_root))

#===- cmake/AttnPython.cmake - the Python the tests run --------------------===#
#
# The lit tests and their helper scripts compute references with numpy, so the
# interpreter they run (lit's %python, from Python3_EXECUTABLE) must have it.
# A python3 first on PATH without numpy (a pyenv build, a venv) would fail
# those tests with ModuleNotFoundError long after configuring; instead,
# configuring stops here and says what is missing and how to point CMake at
# an interpreter that has it.
#
#===----------------------------------------------------------------------===#

find_package(Python3 COMPONENTS Interpreter NumPy)
if(NOT Python3_Interpreter_FOUND)
  message(FATAL_ERROR
    "attn's tests need Python 3 with numpy, and no Python 3 interpreter was "
    "found. Install one (Debian: apt-get install python3 python3-numpy) or "
    "pass -DPython3_EXECUTABLE=/path/to/python3.")
endif()
if(NOT Python3_NumPy_FOUND)
  message(FATAL_ERROR
    "attn's tests need numpy, and the Python 3 interpreter CMake found, "
    "${Python3_EXECUTABLE} (Python ${Python3_VERSION}), cannot import it "
    "(missing: numpy and its headers). Install numpy for that interpreter, "
    "or configure with -DPython3_EXECUTABLE=<a python3 that has numpy> "
    "(Debian: apt-get install python3-numpy, then "
    "-DPython3_EXECUTABLE=/usr/bin/python3, as scripts/build.sh does).")
endif()
# The tuning tests decode the pictures attn-tune draws.
execute_process(COMMAND ${Python3_EXECUTABLE} -c "import matplotlib"
  RESULT_VARIABLE attn_matplotlib_missing OUTPUT_QUIET ERROR_QUIET)
if(attn_matplotlib_missing)
  message(FATAL_ERROR
    "attn's tests need matplotlib (tools/tune/attn-tune's pictures), and "
    "${Python3_EXECUTABLE} cannot import it. Install it for that "
    "interpreter (Debian: apt-get install python3-matplotlib, as "
    "scripts/setup.sh does).")
endif()
message(STATUS "Python for the tests: ${Python3_EXECUTABLE} "
  "(Python ${Python3_VERSION}, numpy ${Python3_NumPy_VERSION})")

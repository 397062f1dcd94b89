// memberflow._core.Org: the organisation graph. Indices cross the boundary as numpy
// int32 arrays viewing the C++ vectors; the Python Org maps them to unit ids.
#include <pybind11/typing.h>

#include "bindings.hpp"
#include "memberflow/org.hpp"
#include "memberflow/org_io.hpp"
#include "memberflow/replace.hpp"

namespace memberflow::python {

namespace {

py::object attribute_to_python(const attribute_value& v) {
  return std::visit([](const auto& x) -> py::object {
    using V = std::decay_t<decltype(x)>;
    if constexpr (std::is_same_v<V, std::monostate>) return py::none();
    else return py::cast(x);
  }, v);
}

const char* type_name(attribute_type t) {
  switch (t) {
    case attribute_type::boolean: return "boolean";
    case attribute_type::integer: return "integer";
    case attribute_type::real: return "real";
    case attribute_type::text: return "text";
  }
  return "text";
}

std::vector<unit_index> indices(const org& o, const py::array_t<std::int64_t, py::array::forcecast>& units) {
  std::vector<unit_index> out;
  out.reserve(static_cast<std::size_t>(units.size()));
  auto u = units.unchecked<1>();
  for (py::ssize_t i = 0; i < u.shape(0); ++i) {
    if (u(i) < 0 || u(i) >= static_cast<std::int64_t>(o.size()))
      throw unknown_id("unit index " + std::to_string(u(i)) + " is out of range");
    out.push_back(static_cast<unit_index>(u(i)));
  }
  return out;
}

// The objects of an object array (the org's ids as Org.ids holds them) by address: a
// Series built from memberflow's own results (sorted, filtered, shuffled) holds the very
// str objects of Org.ids, so its ids are placed without reading their text - one
// cache line a lookup where the text lookup reads each str's header and text first,
// scattered over memory. Anything else falls back to the text lookup (org::find). The
// array is kept, so the addresses stay those of live objects.
class ids_by_address {
 public:
  explicit ids_by_address(py::array objects) : keep_(std::move(objects)) {
    if (keep_.ndim() != 1 || keep_.dtype().kind() != 'O') throw input_error("IdsByAddress: give a 1-D object array");
    std::size_t size = 16;
    while (size < 2 * static_cast<std::size_t>(keep_.shape(0))) size *= 2;  // at most half full
    slots_.assign(size, {0, -1});
    mask_ = size - 1;
    const auto* items = static_cast<PyObject* const*>(keep_.data());
    const auto stride = keep_.strides(0) / static_cast<py::ssize_t>(sizeof(PyObject*));
    for (py::ssize_t i = 0; i < keep_.shape(0); ++i) {
      auto* slot = &slots_[home(items[i * stride])];
      while (slot->key && slot->key != key(items[i * stride])) slot = &slots_[(slot - slots_.data() + 1) & mask_];
      if (!slot->key) *slot = {key(items[i * stride]), static_cast<std::int32_t>(i)};
    }
  }

  // The index of each object of `objects` in the array given at construction, else its
  // text looked up in `o`; -1 where it names no unit, -2 where it names a unit that an
  // earlier one named.
  py::array_t<std::int32_t> find(const org& o, const py::array& objects) const {
    if (objects.ndim() != 1 || objects.dtype().kind() != 'O') throw input_error("find: give a 1-D object array");
    const auto n = static_cast<std::size_t>(objects.shape(0));
    const auto* items = static_cast<PyObject* const*>(objects.data());
    const auto stride = objects.strides(0) / static_cast<py::ssize_t>(sizeof(PyObject*));
    auto item = [&](std::size_t i) { return items[static_cast<py::ssize_t>(i) * stride]; };
    py::array_t<std::int32_t> out(static_cast<py::ssize_t>(n));
    auto* at = out.mutable_data();
    // Ids read from a file are new objects: when none of the first few is one of the
    // org's own, all go by text, without a probe of the address table each.
    constexpr std::size_t sample = 32;
    bool own = false;
    for (std::size_t i = 0; i < std::min(n, sample) && !own; ++i) own = index_of(item(i)) >= 0;
    if (!own) {
      by_text(o, n, item, [](std::size_t i) { return i; }, std::span<unit_index>(at, n));
      return mark_repeats(o, std::move(out));
    }
    constexpr std::size_t ahead = 16;  // the slots of later ids asked for before they are read
    std::vector<std::size_t> misses;
    for (std::size_t i = 0; i < n; ++i) {
      if (i + ahead < n) detail::prefetch(&slots_[home(item(i + ahead))]);
      if ((at[i] = index_of(item(i))) < 0) misses.push_back(i);
    }
    std::vector<unit_index> found(misses.size());
    by_text(o, misses.size(), item, [&](std::size_t j) { return misses[j]; }, found);
    for (std::size_t j = 0; j < misses.size(); ++j) at[misses[j]] = found[j];
    return mark_repeats(o, std::move(out));
  }

 private:
  // The ids item(row(j)), j < count, looked up by their UTF-8 text (read in place) in `o`:
  // each str's header and text (which may reach into the next cache line) asked for 48
  // strs before they are read, as a Series's ids may lie anywhere in memory; a chunk of
  // texts is looked up while it is still in cache. Not a str, or not encodable (a lone
  // surrogate): names no unit.
  template <class Item, class Row>
  static void by_text(const org& o, std::size_t count, Item item, Row row, std::span<unit_index> out) {
    constexpr std::size_t ahead = 48, chunk = 256;
    std::string_view text[chunk];
    for (std::size_t first = 0; first < count; first += chunk) {
      const auto m = std::min(chunk, count - first);
      for (std::size_t i = 0; i < m; ++i) {
        const auto j = first + i;
        if (j + ahead < count) {
          const auto* later = reinterpret_cast<const char*>(item(row(j + ahead)));
          detail::prefetch(later);
          detail::prefetch(later + sizeof(PyASCIIObject) + 8);
        }
        PyObject* id = item(row(j));
        Py_ssize_t size = 0;
        const char* utf8 = PyUnicode_Check(id) ? PyUnicode_AsUTF8AndSize(id, &size) : nullptr;
        text[i] = utf8 ? std::string_view(utf8, static_cast<std::size_t>(size)) : std::string_view();
        if (!utf8) PyErr_Clear();
      }
      o.find(std::span<const std::string_view>(text, m), out.subspan(first, m));
    }
  }

  // A unit found a second time becomes -2 (one pass over a byte per unit, which stays in
  // cache where counting the positions afterwards in numpy reads them twice more).
  static py::array_t<std::int32_t> mark_repeats(const org& o, py::array_t<std::int32_t> positions) {
    std::vector<char> seen(o.size());
    auto* at = positions.mutable_data();
    for (py::ssize_t i = 0; i < positions.size(); ++i)
      if (at[i] >= 0 && std::exchange(seen[static_cast<std::size_t>(at[i])], 1)) at[i] = -2;
    return positions;
  }

  struct slot {
    std::uintptr_t key;
    std::int32_t value;
  };
  static std::uintptr_t key(PyObject* p) { return reinterpret_cast<std::uintptr_t>(p); }
  std::size_t home(PyObject* p) const { return static_cast<std::size_t>((key(p) >> 4) * 0x9E3779B97F4A7C15ULL >> 20) & mask_; }
  std::int32_t index_of(PyObject* p) const {
    for (std::size_t h = home(p);; h = (h + 1) & mask_) {
      if (slots_[h].key == key(p)) return slots_[h].value;
      if (!slots_[h].key) return -1;
    }
  }

  py::array keep_;
  std::vector<slot> slots_;
  std::size_t mask_ = 0;
};

// Org.ancestors as a plain CPython function (METH_O) bound to one tree and to the Python
// Org's own id objects: its answer is a tuple of those objects, nearest first, so a call
// makes no str and passes no pybind11 dispatcher (which alone costs more than the rest of
// the call). The tuples are made with the function: one per unit that has children, the
// unit and its ancestors, which is the answer for each of its children (siblings share
// it); made top-down, each from its parent's, they cost a few ms for the 52,700 units with
// children of a 302,000-unit tree. Units deeper than `kept_depth` are answered by walking the
// parent links, so a long chain of units does not keep depth-squared ids.
struct ancestors_state {
  static constexpr unit_index kept_depth = 64;
  std::shared_ptr<const org> tree;
  py::tuple ids;                   // the id objects, in the org's order (a tuple: nothing can resize it)
  std::vector<py::object> chains;  // unit -> (unit, its parent, ..., root), for units with children

  ancestors_state(std::shared_ptr<const org> t, py::tuple i) : tree(std::move(t)), ids(std::move(i)) {
    const auto parents = tree->parents();
    chains.resize(tree->size());
    for (auto v : tree->preorder()) {  // a parent before its children
      const auto at = static_cast<std::size_t>(v);
      if (tree->subtree(v).size() == 1 || tree->depth(v) >= kept_depth) continue;  // a leaf, or deep
      const auto p = parents[at];
      PyObject* above = p == no_unit ? nullptr : chains[static_cast<std::size_t>(p)].ptr();
      const Py_ssize_t above_size = above ? PyTuple_GET_SIZE(above) : 0;
      auto chain = py::reinterpret_steal<py::object>(PyTuple_New(above_size + 1));
      if (!chain) throw py::error_already_set();
      for (Py_ssize_t k = 0; k <= above_size; ++k) {
        PyObject* item = k == 0 ? PyTuple_GET_ITEM(ids.ptr(), static_cast<Py_ssize_t>(at)) : PyTuple_GET_ITEM(above, k - 1);
        Py_INCREF(item);
        PyTuple_SET_ITEM(chain.ptr(), k, item);
      }
      chains[at] = std::move(chain);
    }
  }
};

// Sets UnknownIdError naming `id` (not a str, or a str that names no unit of `o`).
void set_unknown(const org& o, PyObject* id, const char* utf8, Py_ssize_t size) {
  if (!PyUnicode_Check(id))
    return set_unknown_id_error("unknown unit " + py::repr(id).cast<std::string>() + " (unit ids are str, got " +
                                Py_TYPE(id)->tp_name + ")");
  if (utf8 == nullptr) return set_unknown_id_error("unknown unit " + py::repr(id).cast<std::string>());
  try {
    o.index(std::string_view(utf8, static_cast<std::size_t>(size)));  // throws, naming the id as every lookup does
  } catch (const unknown_id& e) {
    set_unknown_id_error(e.what());
  }
}

PyObject* ancestors_of_id(PyObject* capsule, PyObject* id) {
  const auto& state = *static_cast<const ancestors_state*>(PyCapsule_GetPointer(capsule, nullptr));
  const org& o = *state.tree;
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_Check(id) ? PyUnicode_AsUTF8AndSize(id, &size) : nullptr;
  if (utf8 == nullptr) PyErr_Clear();  // a lone surrogate: no unit has that id
  const unit_index u = utf8 ? o.find(std::string_view(utf8, static_cast<std::size_t>(size))) : no_unit;
  if (u == no_unit) {
    try {  // nothing may be thrown through the interpreter (a __repr__ that raises, no memory)
      set_unknown(o, id, utf8, size);
    } catch (py::error_already_set& e) {
      e.restore();
    } catch (const std::exception& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    }
    return nullptr;
  }
  const auto parents = o.parents();
  const auto parent = parents[static_cast<std::size_t>(u)];
  if (parent == no_unit) return PyTuple_New(0);
  if (PyObject* chain = state.chains[static_cast<std::size_t>(parent)].ptr()) {
    Py_INCREF(chain);
    return chain;
  }
  std::vector<unit_index> chain;  // deeper than kept_depth: the core walks the parent links
  try {
    chain = o.ancestors(u);
  } catch (const std::bad_alloc&) {
    return PyErr_NoMemory();
  }
  PyObject* out = PyTuple_New(static_cast<Py_ssize_t>(chain.size()));
  if (out == nullptr) return nullptr;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    PyObject* ancestor = PyTuple_GET_ITEM(state.ids.ptr(), chain[i]);
    Py_INCREF(ancestor);
    PyTuple_SET_ITEM(out, static_cast<Py_ssize_t>(i), ancestor);
  }
  return out;
}

PyMethodDef ancestors_method{"ancestors", ancestors_of_id, METH_O,
                             "ancestors(unit_id) -> tuple of the ancestors' ids, nearest first, the root last."};

// A callable unit id -> ancestors' ids as objects of `ids` (the org's ids in its order,
// as the Python Org holds them).
py::object ancestors_function(std::shared_ptr<const org> tree, py::tuple ids) {
  if (static_cast<std::size_t>(py::len(ids)) != tree->size())
    throw input_error("ancestors_function: give the org's " + std::to_string(tree->size()) + " ids, got " +
                      std::to_string(py::len(ids)));
  auto state = std::make_unique<ancestors_state>(std::move(tree), std::move(ids));
  py::capsule owner(state.get(), [](void* p) { delete static_cast<ancestors_state*>(p); });
  state.release();  // the capsule owns it now
  PyObject* fn = PyCFunction_New(&ancestors_method, owner.ptr());
  if (fn == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(fn);
}
}  // namespace

void register_org(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<org, std::shared_ptr<org>>(m, "Org", "The organisation tree (C++ core; use memberflow.Org).")
      .def_static("read_csv", [](const std::string& path) { return std::make_shared<org>(read_units_csv(path)); },
                  "path"_a, "Read a units CSV (unit_id,parent_id,name,kind,attributes...).")
      .def_static("read_json", [](const std::string& path) { return std::make_shared<org>(read_org_json(path)); },
                  "path"_a, "Read an organisation JSON file.")
      .def_static("from_json_text", [](const std::string& text) { return std::make_shared<org>(org_from_json(text)); },
                  "text"_a, "Parse an organisation from JSON text.")
      .def_static("from_columns",
                  [](const std::string& source, const std::vector<std::string>& names,
                     const std::vector<std::vector<std::string>>& columns, const std::vector<std::string>& labels) {
                    return std::make_shared<org>(org::from_table(table_from_columns(source, names, columns, 1, labels)));
                  },
                  "source"_a, "names"_a, "columns"_a, "labels"_a = std::vector<std::string>{},
                  "Build from text columns (unit_id, parent_id, name, kind, attributes...).")
      .def("write_csv", [](const org& o, const std::string& path) { write_units_csv(o, path); }, "path"_a)
      .def("write_json", [](const org& o, const std::string& path) { write_org_json(o, path); }, "path"_a)
      .def("to_json_text", &org_to_json)
      .def("read_overseers_csv", [](org& o, const std::string& path) { read_overseers_csv(o, path); }, "path"_a)
      .def("set_overseers_columns",
           [](org& o, const std::string& source, const std::vector<std::string>& names,
              const std::vector<std::vector<std::string>>& columns, const std::vector<std::string>& labels) {
             o.set_overseers(table_from_columns(source, names, columns, 1, labels));
           },
           "source"_a, "names"_a, "columns"_a, "labels"_a = std::vector<std::string>{})
      .def("overseers_columns", [](const org& o) { return table_to_columns(o.overseers_table()); })
      .def("__len__", &org::size)
      .def_property_readonly("root", &org::root)
      .def_property_readonly("height", &org::height)
      .def_property_readonly("ids", &org::ids)
      .def_property_readonly("names", &org::names)
      .def_property_readonly("kinds", &org::kinds)
      .def_property_readonly("parents", [](py::object self) { return view(self.cast<const org&>().parents(), self); },
                             "Parent index of every unit (-1 for the root), a read-only view.")
      .def_property_readonly("preorder", [](py::object self) { return view(self.cast<const org&>().preorder(), self); })
      .def_property_readonly("depths",
                             [](const org& o) {
                               py::array_t<std::int32_t> d(static_cast<py::ssize_t>(o.size()));
                               for (std::size_t u = 0; u < o.size(); ++u) d.mutable_at(u) = o.depth(static_cast<unit_index>(u));
                               return d;
                             })
      .def("index", &org::index, "unit_id"_a, "Index of a unit id; KeyError if unknown.")
      .def("indices",
           [](const org& o, const std::vector<std::string>& ids) {
             py::array_t<std::int32_t> out(static_cast<py::ssize_t>(ids.size()));
             for (std::size_t i = 0; i < ids.size(); ++i) out.mutable_at(i) = o.index(ids[i]);
             return out;
           },
           "unit_ids"_a)
      .def("contains", &org::contains, "unit_id"_a)
      .def("parent", &org::parent, "unit"_a)
      .def("children", &org::children, "unit"_a)
      .def("ancestors", &org::ancestors, "unit"_a)
      .def("children_ids",
           [](const org& o, const std::string& id) {
             std::vector<std::string> out;
             for (auto c : o.children(o.index(id))) out.push_back(o.id(c));
             return out;
           },
           "unit_id"_a)
      .def("parent_id",
           [](const org& o, const std::string& id) -> py::object {
             const auto p = o.parent(o.index(id));
             return p == no_unit ? py::object(py::none()) : py::object(py::str(o.id(p)));
           },
           "unit_id"_a)
      .def("ancestors_function",
           [](std::shared_ptr<org> self, py::typing::Tuple<py::str, py::ellipsis> ids)
               -> py::typing::Callable<py::typing::Tuple<py::str, py::ellipsis>(py::str)> {
             return ancestors_function(std::move(self), std::move(ids));
           },
           "ids"_a,
           "A function unit id -> its ancestors' ids (objects of `ids`, the org's ids in its order), nearest first.")
      .def("subtree_range",
           [](const org& o, std::string_view id) {
             // A subtree is a contiguous slice of the preorder: its [first, stop) positions.
             const auto sub = o.subtree(o.index(id));
             const auto first = sub.data() - o.preorder().data();
             return py::make_tuple(first, first + static_cast<std::ptrdiff_t>(sub.size()));
           },
           "unit_id"_a, "[first, stop) of the unit's subtree in preorder positions.")
      .def("descendants", [](py::object self, unit_index u) { return view(self.cast<const org&>().descendants(u), self); },
           "unit"_a)
      .def("subtree", [](py::object self, unit_index u) { return view(self.cast<const org&>().subtree(u), self); },
           "unit"_a)
      .def("depth", &org::depth, "unit"_a)
      .def("units_in_scope", [](const org& o, std::string_view scope) { return units_in_scope(o, scope); }, "scope"_a)
      .def("lca",
           [](const org& o, const py::array_t<std::int64_t, py::array::forcecast>& units) {
             const auto v = indices(o, units);
             return o.lca(std::span<const unit_index>(v));
           },
           "units"_a)
      .def("rollup",
           [](const org& o, py::array_t<double, py::array::f_style | py::array::forcecast> values) {
             // A copy in Fortran order, rolled up in place: one reverse preorder pass a column.
             py::array_t<double, py::array::f_style> out(values.request().shape);
             std::copy(values.data(), values.data() + values.size(), out.mutable_data());
             const auto rows = out.ndim() >= 1 ? out.shape(0) : 0;
             const auto cols = out.ndim() == 2 ? out.shape(1) : 1;
             if (out.ndim() < 1 || out.ndim() > 2) throw input_error("rollup: give a 1-D or 2-D array");
             Eigen::Map<Eigen::ArrayXXd> map(out.mutable_data(), rows, cols);
             {
               py::gil_scoped_release release;  // pure C++ on memory we own
               o.rollup_inplace(map);
             }
             return out;
           },
           "values"_a, "Subtree totals of per-unit values (rows are units).")
      .def("attributes",
           [](const org& o) {
             py::list out;
             for (const auto& a : o.attributes()) {
               py::list values(a.values.size());
               for (std::size_t i = 0; i < a.values.size(); ++i) values[i] = attribute_to_python(a.values[i]);
               out.append(py::make_tuple(a.name, type_name(a.type), values));
             }
             return out;
           },
           "[(name, type, values)] for every attribute column.")
      .def("overseers",
           [](const org& o) {
             py::dict out;
             for (const auto& ov : o.overseers()) out[py::str(ov.id)] = ov.units;
             return out;
           })
      .def("overseers_of", &org::overseers_of, "unit"_a);
  // after Org, so that its signature names memberflow._core.Org
  py::class_<ids_by_address>(m, "IdsByAddress",
                             "The org's id objects by address (memberflow.Org places a Series by id through it).")
      .def(py::init<py::array>(), "ids"_a, "The ids of an Org as an object array, in the org's order.")
      .def("find", &ids_by_address::find, "org"_a, "ids"_a,
           "Index of each id of an object array: by address if it is one of the org's own id objects, else by "
           "text; -1 where it names no unit, -2 where it names a unit an earlier id named.");
}

}  // namespace memberflow::python

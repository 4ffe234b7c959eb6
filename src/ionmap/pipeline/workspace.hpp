// Workspace: the named items that stages share during a run (maps, label maps, spectra,
// curves, tables, transforms, orientation maps). Items are immutable once written; a stage that
// "modifies" a map writes a new item (possibly under the same name).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "ionmap/core/curve_set.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/core/map.hpp"
#include "ionmap/core/orientation_map.hpp"
#include "ionmap/core/spectrum_image.hpp"
#include "ionmap/core/table.hpp"
#include "ionmap/core/transform2d.hpp"

namespace ionmap {

// The order matches the alternatives of Item.
enum class ItemKind {
  kMap,
  kLabelMap,
  kSpectrumImage,
  kCurveSet,
  kTable,
  kTransform,
  kOrientationMap
};
const char* itemKindName(ItemKind k);

using Item =
    std::variant<Map, LabelMap, SpectrumImage, CurveSet, Table, Transform2D, OrientationMap>;

template <class T>
constexpr ItemKind kindOf() {
  if constexpr (std::is_same_v<T, Map>) return ItemKind::kMap;
  if constexpr (std::is_same_v<T, LabelMap>) return ItemKind::kLabelMap;
  if constexpr (std::is_same_v<T, SpectrumImage>) return ItemKind::kSpectrumImage;
  if constexpr (std::is_same_v<T, CurveSet>) return ItemKind::kCurveSet;
  if constexpr (std::is_same_v<T, Table>) return ItemKind::kTable;
  if constexpr (std::is_same_v<T, OrientationMap>) return ItemKind::kOrientationMap;
  return ItemKind::kTransform;
}

class Workspace {
 public:
  void put(const std::string& name, Item item, const std::string& written_by);
  bool has(const std::string& name) const { return items_.count(name) != 0; }
  // Throws ProcessingError if the item is missing or of another kind.
  template <class T>
  const T& get(const std::string& name) const {
    const Item& it = find(name);
    if (const T* p = std::get_if<T>(&it)) return *p;
    throw wrongKind(name, kindOf<T>());
  }
  ItemKind kind(const std::string& name) const { return static_cast<ItemKind>(find(name).index()); }
  // Item names in the order they were first written.
  const std::vector<std::string>& names() const { return order_; }
  const std::string& writer(const std::string& name) const { return entries(name).writer; }
  const Item& item(const std::string& name) const { return find(name); }

 private:
  struct Entry {
    std::shared_ptr<const Item> item;
    std::string writer;
  };
  const Item& find(const std::string& name) const { return *entries(name).item; }
  const Entry& entries(const std::string& name) const;
  ProcessingError wrongKind(const std::string& name, ItemKind wanted) const;
  std::map<std::string, Entry> items_;
  std::vector<std::string> order_;
};

}  // namespace ionmap

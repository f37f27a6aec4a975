// Repeatable groups of a task form: "add a row" and "remove this row" buttons. Progressive enhancement:
// without this script the server's spare empty row is the way to add one, and empty rows are not saved.
// Inputs are named by their path (contacts.1.phone); rows are renumbered so the names stay 0, 1, 2...
(function () {
  "use strict";
  if (window.tsunaguRepeat || !window.WeakMap || !document.querySelector) { return; }
  window.tsunaguRepeat = true;
  var templates = new WeakMap();
  var ATTRIBUTES = ["name", "id", "for", "aria-describedby", "data-name", "data-repeat"];

  function escaped(text) { return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  function rowsOf(group) {
    var holder = group.querySelector(".repeat-rows");
    return Array.prototype.filter.call(holder.children, function (el) { return el.classList.contains("repeat-row"); });
  }

  function isEmpty(row) {
    return !Array.prototype.some.call(row.querySelectorAll("input, textarea, select"), function (el) {
      if (el.readOnly || el.disabled || el.type === "hidden") { return false; }
      if (el.type === "checkbox" || el.type === "radio") { return el.checked; }
      return el.value.trim() !== "";
    });
  }

  function label(group, n) { return (group.getAttribute("data-row-label") || "{n}").replace("{n}", String(n)); }

  // Gives a row the index `index` in every name and id that carries the group's path.
  function renumber(group, row, index) {
    var name = group.getAttribute("data-name");
    var pattern = new RegExp("(^|[\\s-])" + escaped(name) + "\\.\\d+(?=$|[\\s.])", "g");
    var elements = [row].concat(Array.prototype.slice.call(row.querySelectorAll("*")));
    elements.forEach(function (el) {
      ATTRIBUTES.forEach(function (attribute) {
        var value = el.getAttribute(attribute);
        if (value) { el.setAttribute(attribute, value.replace(pattern, "$1" + name + "." + index)); }
      });
    });
    row.setAttribute("data-row", String(index));
    var legend = row.querySelector(":scope > legend");
    if (legend) {
      legend.textContent = label(group, index + 1);
    } else {
      var text = row.querySelector("label[for]");
      var title = group.getAttribute("data-title");
      if (text && text.firstChild && title) { text.firstChild.nodeValue = title + " " + label(group, index + 1); }
    }
  }

  function refresh(group) {
    var rows = rowsOf(group);
    var min = parseInt(group.getAttribute("data-min"), 10) || 0;
    var max = parseInt(group.getAttribute("data-max"), 10);
    rows.forEach(function (row) {
      var remove = row.querySelector(":scope > .remove-row");
      if (remove) { remove.hidden = rows.length <= min; }
    });
    var add = group.querySelector(":scope > .add-row");
    if (add) { add.hidden = !templates.has(group) || (!isNaN(max) && rows.length >= max); }
  }

  function setUp(group) {
    if (templates.has(group)) { return; }
    var rows = rowsOf(group);
    var spare = rows.length ? rows[rows.length - 1] : null;
    if (spare && spare.hasAttribute("data-spare")) {
      templates.set(group, spare.cloneNode(true));
      var min = Math.max(parseInt(group.getAttribute("data-min"), 10) || 0, 1);
      if (rows.length - 1 >= min && isEmpty(spare)) { spare.parentNode.removeChild(spare); }
    }
    var note = group.querySelector(":scope > .repeat-spare-note");
    if (note && templates.has(group)) { note.hidden = true; }
    refresh(group);
  }

  function changed(group) {
    var form = group.closest("form");
    if (form) { form.dispatchEvent(new Event("change", {bubbles: true})); }  // drafts.js saves the new rows
  }

  function add(group) {
    var template = templates.get(group);
    if (!template) { return; }
    var row = template.cloneNode(true);
    row.removeAttribute("data-spare");
    group.querySelector(".repeat-rows").appendChild(row);
    renumber(group, row, rowsOf(group).length - 1);
    Array.prototype.forEach.call(row.querySelectorAll("[data-repeat]"), setUp);
    refresh(group);
    var first = row.querySelector("input:not([type=hidden]):not([readonly]), textarea, select");
    if (first) { first.focus(); }
    changed(group);
  }

  function remove(group, row) {
    var next = row.nextElementSibling || row.previousElementSibling;
    row.parentNode.removeChild(row);
    rowsOf(group).forEach(function (each, index) { renumber(group, each, index); });
    refresh(group);
    var focus = next && next.classList.contains("repeat-row") ? next.querySelector("input, textarea, select")
      : group.querySelector(":scope > .add-row");
    if (focus) { focus.focus(); }
    changed(group);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".add-row, .remove-row") : null;
    if (!button) { return; }
    var group = button.closest("[data-repeat]");
    if (!group) { return; }
    event.preventDefault();
    if (button.classList.contains("add-row")) { add(group); } else { remove(group, button.closest(".repeat-row")); }
  });

  function start() { Array.prototype.forEach.call(document.querySelectorAll("[data-repeat]"), setUp); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());

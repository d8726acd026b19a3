// Small progressive enhancements. Everything works without this file: menus are <details>,
// tabs and pencils are links, forms post normally.
(function () {
  "use strict";

  var MENU = "details.menu";
  var ITEM = '[role="menuitem"]';

  function openMenus() {
    return Array.prototype.slice.call(document.querySelectorAll(MENU + "[open]"));
  }

  function closeMenu(menu, returnFocus) {
    menu.removeAttribute("open");
    if (returnFocus) {
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    }
  }

  function menuItems(menu) {
    return Array.prototype.slice.call(menu.querySelectorAll(ITEM));
  }

  // Only one menu open at a time.
  document.addEventListener(
    "toggle",
    function (event) {
      var menu = event.target;
      if (!menu.matches || !menu.matches(MENU) || !menu.open) return;
      openMenus().forEach(function (other) {
        if (other !== menu) closeMenu(other, false);
      });
    },
    true
  );

  // Close an open menu on an outside click.
  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) closeMenu(menu, false);
    });
  });

  // Keyboard: Escape closes (focus back on the trigger); arrows, Home and End move between items.
  document.addEventListener("keydown", function (event) {
    var open = openMenus();
    if (!open.length) return;
    if (event.key === "Escape") {
      open.forEach(function (menu) {
        closeMenu(menu, menu.contains(document.activeElement));
      });
      return;
    }
    var menu = open.filter(function (m) {
      return m.contains(document.activeElement);
    })[0];
    if (!menu) return;
    var items = menuItems(menu);
    if (!items.length) return;
    var index = items.indexOf(document.activeElement);
    var next = null;
    if (event.key === "ArrowDown") next = items[(index + 1) % items.length];
    else if (event.key === "ArrowUp") next = items[index <= 0 ? items.length - 1 : index - 1];
    else if (event.key === "Home") next = items[0];
    else if (event.key === "End") next = items[items.length - 1];
    if (next) {
      event.preventDefault();
      next.focus();
    }
  });

  // Tabbing out of an open menu closes it.
  document.addEventListener("focusin", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) closeMenu(menu, false);
    });
  });

  // A form came back with errors: move focus to its error summary so it is heard and seen.
  function focusErrorSummary(root) {
    var summary = (root || document).querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
      return true;
    }
    return false;
  }

  // htmx swaps (profile sections): put focus where the user expects it.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.elt;
    if (!target || !target.id) return;
    var section = document.getElementById(target.id);
    if (!section) return;
    if (focusErrorSummary(section)) return;
    if (section.classList.contains("is-editing")) {
      var field = section.querySelector("input:not([type=hidden]):not([disabled]), select, textarea");
      if (field) field.focus();
    } else {
      var pencil = section.querySelector(".profile-section-edit") || section.querySelector("summary");
      if (pencil) pencil.focus();
    }
  });

  // A form marked data-submit-once posts once: a double click on "Save" (a large upload
  // takes a while) must not create two items. The page that answers the post is a new page,
  // so the mark never outlives it.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-submit-once]")) return;
    if (form.dataset.submitted) {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "true";
  });

  function ready() {
    focusErrorSummary(document);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();

// The studio's one script: seek the player from the transcript, follow it while it plays, and
// choose a clip's words (click the first word, shift-click the last). Pages work without it.
(function () {
  "use strict";
  var player = document.getElementById("player");
  var words = Array.prototype.slice.call(document.querySelectorAll("#transcript .w"));
  var from = document.getElementById("clip-from");
  var to = document.getElementById("clip-to");
  var first = null;
  var QUOTE_WORDS = 4;

  function text(list) {
    return list.map(function (w) { return w.textContent.trim(); }).join(" ");
  }

  function choose(a, b) {
    var i = words.indexOf(a), j = words.indexOf(b);
    if (i > j) { var k = i; i = j; j = k; }
    words.forEach(function (w, n) { w.classList.toggle("sel", n >= i && n <= j); });
    var chosen = words.slice(i, j + 1);
    if (from && to) {
      from.value = text(chosen.slice(0, Math.min(QUOTE_WORDS, chosen.length)));
      to.value = text(chosen.slice(Math.max(0, chosen.length - QUOTE_WORDS)));
    }
  }

  words.forEach(function (w) {
    w.addEventListener("click", function (event) {
      if (player) {
        player.currentTime = Number(w.dataset.start) / 1000;
        if (!event.shiftKey) { player.play().catch(function () {}); }
      }
      if (event.shiftKey && first) {
        choose(first, w);
      } else {
        first = w;
        choose(w, w);
      }
    });
  });

  if (player && words.length) {
    player.addEventListener("timeupdate", function () {
      var now = player.currentTime * 1000;
      words.forEach(function (w) {
        var on = now >= Number(w.dataset.start) && now < Number(w.dataset.end);
        w.classList.toggle("now", on);
      });
    });
  }
})();

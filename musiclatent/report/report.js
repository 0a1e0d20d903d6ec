// musiclatent report: embeds the charts (vega-embed, bundled locally) and plays track previews.
// All data comes from the JSON block #ml-data; text is inserted with textContent, never as HTML.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("ml-data").textContent);
  var player = document.getElementById("player");
  var nowPlaying = document.getElementById("now-playing");
  var state = { views: {}, ready: false, errors: [], lastTrack: null };
  window.musiclatent = state;

  function setCurrent(button) {
    var old = document.querySelectorAll("button.play.current");
    for (var i = 0; i < old.length; i++) old[i].classList.remove("current");
    if (button) button.classList.add("current");
  }

  function play(src, title, trackId) {
    if (!src) {
      nowPlaying.textContent = title + ": no preview in this report";
      return;
    }
    player.setAttribute("data-playing", "false");
    player.setAttribute("data-track", trackId || "");
    player.src = src;
    nowPlaying.textContent = "Playing " + title;
    var promise = player.play();
    if (promise && promise.catch) {
      promise.catch(function (err) {
        nowPlaying.textContent = title + " (press play to listen: " + err.name + ")";
      });
    }
  }

  player.addEventListener("playing", function () { player.setAttribute("data-playing", "true"); });
  player.addEventListener("pause", function () { player.setAttribute("data-playing", "false"); });
  player.addEventListener("ended", function () { player.setAttribute("data-playing", "false"); });

  function trackButton(trackId, extra) {
    var info = data.tracks[trackId] || {};
    var button = document.createElement("button");
    button.type = "button";
    button.className = "play";
    var title = info.label ? trackId + " (" + info.label + ")" : trackId;
    button.setAttribute("data-track", trackId);
    button.setAttribute("data-title", title);
    if (info.audio) button.setAttribute("data-audio", info.audio);
    button.textContent = "\u25B6 " + title + (extra ? "  " + extra : "");
    return button;
  }

  function fillNeighbors(list, trackId) {
    while (list.firstChild) list.removeChild(list.firstChild);
    var nbs = data.neighbors[trackId] || [];
    if (!nbs.length) {
      var li = document.createElement("li");
      li.textContent = "(no neighbours computed: run `musiclatent analyze neighbors`)";
      list.appendChild(li);
    }
    nbs.forEach(function (nb) {
      var li = document.createElement("li");
      var same = data.tracks[trackId] && nb[2] && data.tracks[trackId].label === nb[2];
      li.className = same ? "nb same" : "nb";
      li.appendChild(trackButton(nb[0], nb[1] === null ? "" : "d=" + Number(nb[1]).toPrecision(3)));
      list.appendChild(li);
    });
  }

  function showNeighbors(trackId) {
    var box = document.getElementById("clicked");
    if (!box) return;
    document.getElementById("clicked-track").textContent = trackId;
    fillNeighbors(document.getElementById("clicked-neighbors"), trackId);
    box.hidden = false;
  }

  // "Songs like this": any track's precomputed nearest tracks, picked by id
  function showLike(trackId) {
    var box = document.getElementById("like-panel");
    if (!box || !Object.prototype.hasOwnProperty.call(data.neighbors, trackId)) return false;
    var head = document.getElementById("like-track");
    while (head.firstChild) head.removeChild(head.firstChild);
    head.appendChild(trackButton(trackId));
    fillNeighbors(document.getElementById("like-neighbors"), trackId);
    box.hidden = false;
    state.likeTrack = trackId;
    return true;
  }

  (function setupLike() {
    var input = document.getElementById("like-input");
    var options = document.getElementById("like-tracks");
    if (!input || !options) return;
    var ids = Object.keys(data.neighbors);
    var limit = Number(options.getAttribute("data-limit")) || ids.length;
    ids.slice(0, limit).forEach(function (id) {
      var option = document.createElement("option");
      option.value = id;
      options.appendChild(option);
    });
    var count = document.getElementById("like-count");
    var k = ids.length ? data.neighbors[ids[0]].length : 0;
    count.textContent = ids.length ? ids.length + " tracks, " + k + " nearest each" : "no neighbours computed";
    function pick() { if (showLike(input.value.trim())) input.classList.remove("unknown"); else input.classList.add("unknown"); }
    input.addEventListener("change", pick);
    input.addEventListener("keydown", function (event) { if (event.key === "Enter") pick(); });
    if (ids.length) showLike(ids[0]);
  })();

  function playTrack(trackId) {
    var info = data.tracks[trackId];
    var title = info && info.label ? trackId + " (" + info.label + ")" : trackId;
    state.lastTrack = trackId;
    play(info ? info.audio : null, title, trackId);
    showNeighbors(trackId);
    showLike(trackId);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.play") : null;
    if (!button) return;
    setCurrent(button);
    play(button.getAttribute("data-audio"), button.getAttribute("data-title"),
         button.getAttribute("data-track"));
  });

  function datumTrack(item) {
    var datum = item && item.datum;
    if (!datum) return null;
    if (datum.track_id !== undefined && datum.track_id !== null) return String(datum.track_id);
    return null;
  }

  var options = { renderer: "svg", actions: { export: true, source: false, compiled: false, editor: false } };
  var jobs = Object.keys(data.charts).map(function (id) {
    return vegaEmbed("#" + id, data.charts[id], options).then(function (result) {
      state.views[id] = result.view;
      result.view.addEventListener("click", function (event, item) {
        var trackId = datumTrack(item);
        if (trackId !== null && Object.prototype.hasOwnProperty.call(data.tracks, trackId)) playTrack(trackId);
      });
    }).catch(function (err) {
      state.errors.push(String(err));
      var el = document.getElementById(id);
      if (el) {
        el.className += " chart-error";
        el.textContent = "This chart could not be drawn: " + err;
      }
      console.error("musiclatent report: chart " + id + " failed: " + err);
    });
  });
  Promise.all(jobs).then(function () {
    state.ready = true;
    document.body.setAttribute("data-ready", "true");
  });
})();

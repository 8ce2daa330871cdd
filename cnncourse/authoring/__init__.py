"""Tools for the people who write and teach the course, not for learners.

- :mod:`~cnncourse.authoring.markers`: the exercise markers of ``solutions/`` and the nbgrader
  metadata derived from them;
- :mod:`~cnncourse.authoring.student_copy`: ``cnncourse-make-lessons``, which writes ``lessons/``;
- :mod:`~cnncourse.authoring.grading`: ``cnncourse-grade``, which scores learners' notebooks;
- :mod:`~cnncourse.authoring.runner`: runs a notebook in a fresh kernel (grading, benchmarks);
- :mod:`~cnncourse.authoring.launch`: where the course is published, and its Binder/Colab links.
"""

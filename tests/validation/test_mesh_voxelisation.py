"""Mesh voxelisation converges to exact volumes within a rigorous bound; trilinear sampling is exact for linear fields.

Bound used throughout. Voxelising a body K by voxel centres (a voxel is in when
its centre is) gives the volume V_vox = V(K) + |{x not in K, c(x) in K}| -
|{x in K, c(x) not in K}|, where c(x) is the centre of the voxel holding x and
|x - c(x)| <= r = half the voxel diagonal (sqrt(3)/2 h for cubic voxels). The
first set lies in the outer parallel shell of K of width r, the second in the
inner one. For a convex polyhedron Steiner's formula gives the outer shell's
volume exactly, A r + M r^2 + (4 pi / 3) r^3 (A: area; M: sum over edges of
length times the angle between the outward normals of the two faces, halved),
and the inner shell is at most A r. So

    |V_vox - V_mesh| <= A r + M r^2 + (4 pi / 3) r^3,

with V_mesh computed exactly from the triangles or tetrahedra. For a region
that is not convex, the points whose classification can differ lie within r of
some boundary triangle; the r-neighbourhood of a triangle (area A_f, perimeter
P_f) has volume 2 A_f r + (pi / 2) P_f r^2 + (4 pi / 3) r^3, and the sum over
faces bounds the union. The faceting error of the mesh against the analytic
ellipsoid is bounded separately: an inscribed convex polyhedron whose faces all
lie at least d_min from the centre (in the frame where the ellipsoid is the
unit sphere) has d_min^3 V_ellipsoid <= V_mesh <= V_ellipsoid.
"""

from pathlib import Path

import meshio
import numpy as np
import pytest
from scipy.spatial import ConvexHull, Delaunay

from phototherm.grid import Grid
from phototherm.io.meshes import (
    labels_from_tetra_mesh,
    mask_from_surface,
    read_mesh,
    sample_field,
    write_fields_to_mesh,
)

MESHES = Path(__file__).resolve().parents[2] / "meshes"
SEMI_AXES = np.array([4e-3, 4e-3, 3e-3])  # [m], as in meshes/README.md
CENTRE = np.array([10e-3, 10e-3, 3.4e-3])
V_ELLIPSOID = 4.0 / 3.0 * np.pi * np.prod(SEMI_AXES)
#: Voxel sizes [m]; the bound, first order in h, halves with each (and is far from tight:
#: for a smooth surface the errors of the cut voxels largely cancel).
SPACINGS = (0.4e-3, 0.2e-3, 0.1e-3)


def convex_measures(points):
    """Volume, area, integral of mean curvature M of the convex hull of ``points``; its planes."""
    hull = ConvexHull(points)
    normals = hull.equations[:, :3]
    edges = {}
    for f, simplex in enumerate(hull.simplices):
        for a, b in ((0, 1), (1, 2), (0, 2)):
            edges.setdefault(tuple(sorted((simplex[a], simplex[b]))), []).append(f)
    M = 0.0
    for (a, b), faces in edges.items():
        assert len(faces) == 2
        angle = np.arccos(np.clip(normals[faces[0]] @ normals[faces[1]], -1.0, 1.0))
        M += 0.5 * np.linalg.norm(points[a] - points[b]) * angle
    return hull.volume, hull.area, M, hull.equations


def steiner_bound(area, M, h):
    r = 0.5 * np.sqrt(3.0) * h
    return area * r + M * r**2 + 4.0 / 3.0 * np.pi * r**3


def faceting_floor(equations):
    """d_min^3 V_ellipsoid: a lower bound on the volume of an inscribed polyhedron with these face planes."""
    # Plane n.x + d = 0 in the frame y = (x - centre) / semi_axes: (n * s).y + (n.centre + d) = 0.
    n = equations[:, :3] * SEMI_AXES
    offset = equations[:, :3] @ CENTRE + equations[:, 3]
    d_min = np.min(-offset / np.linalg.norm(n, axis=1))
    return d_min**3 * V_ELLIPSOID


def grid_around(h, shift):
    """Grid holding the ellipsoid, with a voxel-fraction shift so no symmetry helps the count."""
    lo = CENTRE - SEMI_AXES - 2 * h + shift * h
    shape = np.ceil((2 * SEMI_AXES + 4 * h) / h).astype(int)
    return Grid(shape, h, origin=lo)


def test_surface_ellipsoid_volume_converges_within_bound():
    mesh = read_mesh(MESHES / "tumour_ellipsoid.stl", units="mm")
    points, triangles = mesh.points, mesh.cells[0].data
    a, b, c = (points[triangles[:, n]] for n in range(3))
    v_mesh = np.einsum("ij,ij->i", a, np.cross(b - a, c - a)).sum() / 6.0  # divergence theorem, exact
    hull_volume, area, M, equations = convex_measures(points)
    # Convex polyhedron (all vertices its own hull's): Steiner's formula applies.
    assert v_mesh == pytest.approx(hull_volume, rel=1e-9)
    assert len(ConvexHull(points).vertices) == len(points)
    floor = faceting_floor(equations)
    assert floor <= v_mesh <= V_ELLIPSOID
    for h in SPACINGS:
        grid = grid_around(h, np.array([0.31, 0.17, 0.43]))
        v_vox = mask_from_surface(mesh, grid).sum() * grid.cell_volume
        bound = steiner_bound(area, M, h)
        assert abs(v_vox - v_mesh) <= bound, (h, v_vox, v_mesh, bound)
        # Against the analytic ellipsoid: voxel error plus the (bounded) faceting error.
        assert abs(v_vox - V_ELLIPSOID) <= bound + (V_ELLIPSOID - floor)


def delaunay_ellipsoid():
    """Conforming tetrahedral ellipsoid: Delaunay of points on the ellipsoid and inside it, two tags."""
    theta = np.pi * np.arange(1, 12) / 12
    phi = 2 * np.pi * np.arange(24) / 24
    t, p = np.meshgrid(theta, phi, indexing="ij")
    unit = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1).reshape(-1, 3)
    unit = np.vstack([unit, [[0, 0, 1], [0, 0, -1]]])
    rng = np.random.default_rng(3)
    inner = rng.normal(size=(300, 3))
    inner *= (0.9 * rng.random((300, 1)) ** (1 / 3)) / np.linalg.norm(inner, axis=1, keepdims=True)
    points = CENTRE + np.vstack([unit, 0.5 * unit, inner]) * SEMI_AXES
    tri = Delaunay(points)
    tets = tri.simplices
    centroid = points[tets].mean(axis=1)
    tags = np.where(np.linalg.norm((centroid - CENTRE) / SEMI_AXES, axis=1) < 0.5, 2, 1)
    return points, tets, tags


def tet_volumes(points, tets):
    a, b, c, d = (points[tets[:, n]] for n in range(4))
    return np.abs(np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a)) / 6.0


def boundary_faces(tets):
    faces = np.concatenate([tets[:, [1, 2, 3]], tets[:, [0, 2, 3]], tets[:, [0, 1, 3]], tets[:, [0, 1, 2]]])
    faces = np.sort(faces, axis=1)
    unique, counts = np.unique(faces, axis=0, return_counts=True)
    return unique[counts % 2 == 1]


def union_of_neighbourhoods_bound(points, faces, h):
    """Sum over boundary triangles of the volume of their r-neighbourhoods (any region shape)."""
    r = 0.5 * np.sqrt(3.0) * h
    a, b, c = (points[faces[:, n]] for n in range(3))
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    perimeter = np.linalg.norm(b - a, axis=1) + np.linalg.norm(c - b, axis=1) + np.linalg.norm(a - c, axis=1)
    return np.sum(2 * area * r + 0.5 * np.pi * perimeter * r**2 + 4.0 / 3.0 * np.pi * r**3)


def test_tetrahedral_ellipsoid_volume_converges_within_bound():
    points, tets, tags = delaunay_ellipsoid()
    volumes = tet_volumes(points, tets)
    v_mesh = volumes.sum()
    hull_volume, area, M, equations = convex_measures(points)
    assert v_mesh == pytest.approx(hull_volume, rel=1e-9)  # the Delaunay tetrahedra fill the hull
    floor = faceting_floor(equations)
    assert floor <= v_mesh <= V_ELLIPSOID
    v_core = volumes[tags == 2].sum()
    core_faces = boundary_faces(tets[tags == 2])
    mesh = meshio.Mesh(points, [("tetra", tets)], cell_data={"gmsh:physical": [tags]})
    for h in SPACINGS:
        grid = grid_around(h, np.array([0.61, 0.29, 0.07]))
        labels = labels_from_tetra_mesh(mesh, grid, background=0)
        v_vox = np.count_nonzero(labels) * grid.cell_volume
        bound = steiner_bound(area, M, h)
        assert abs(v_vox - v_mesh) <= bound, (h, v_vox, v_mesh, bound)
        assert abs(v_vox - V_ELLIPSOID) <= bound + (V_ELLIPSOID - floor)
        # The core region is not convex in general: the face-neighbourhood bound.
        v_core_vox = np.count_nonzero(labels == 2) * grid.cell_volume
        assert abs(v_core_vox - v_core) <= union_of_neighbourhoods_bound(points, core_faces, h)


def test_flank_block_regions_match_their_tetrahedra():
    mesh = read_mesh(MESHES / "flank_block.vtu", units="mm")
    points, tets, tags = mesh.points, mesh.cells[0].data, mesh.cell_data["tag"][0]
    volumes = tet_volumes(points, tets)
    h = 0.2e-3
    grid = Grid((104, 104, 64), h, origin=(-0.37e-3, -0.41e-3, -0.33e-3))
    labels = labels_from_tetra_mesh(mesh, grid, tag="tag", background=0)
    for value in (1, 2, 3, 4):
        v_region = volumes[tags == value].sum()
        bound = union_of_neighbourhoods_bound(points, boundary_faces(tets[tags == value]), h)
        v_vox = np.count_nonzero(labels == value) * grid.cell_volume
        assert abs(v_vox - v_region) <= bound, (value, v_vox, v_region, bound)
    # The whole block is a box: Steiner with A = 2(ab + bc + ca), M = pi (a + b + c).
    box = np.array([20e-3, 20e-3, 12e-3])
    area = 2 * (box[0] * box[1] + box[1] * box[2] + box[2] * box[0])
    v_vox = np.count_nonzero(labels) * grid.cell_volume
    assert abs(v_vox - np.prod(box)) <= steiner_bound(area, np.pi * box.sum(), h)


def linear(points):
    return 37.0 + 1.3e3 * points[:, 0] - 2.1e3 * points[:, 1] + 0.7e3 * points[:, 2]


def test_trilinear_sampling_reproduces_linear_fields():
    grid = Grid((13, 9, 7), (0.7e-3, 0.45e-3, 0.3e-3), origin=(-1.3e-3, 2.2e-3, 0.05e-3))
    X, Y, Z = grid.mesh()
    field = linear(np.stack([X.ravel(), Y.ravel(), Z.ravel()], axis=1)).reshape(grid.shape)
    lo = np.array([grid.centres(d)[0] for d in range(3)])
    hi = np.array([grid.centres(d)[-1] for d in range(3)])
    rng = np.random.default_rng(0)
    interior = lo + rng.random((5000, 3)) * (hi - lo)
    interior = np.vstack([interior, lo, hi, np.stack([grid.centre_of((3, 4, 5))])])  # hull corners and a centre
    exact = linear(interior)
    # Rounding only: a few operations on values of magnitude ~40, float64.
    np.testing.assert_allclose(sample_field(field, grid, interior), exact, rtol=0, atol=1e-12 * np.abs(exact).max())
    # Outside the hull of centres the field is clamped, hence not extrapolated.
    outside = np.array([[lo[0] - 0.2e-3, 3e-3, 1e-3]])
    assert sample_field(field, grid, outside)[0] == pytest.approx(linear(outside * [0, 1, 1] + [lo[0], 0, 0])[0])


def test_linear_field_exact_on_mesh_points_and_centroids(tmp_path):
    mesh = read_mesh(MESHES / "flank_block.vtu", units="mm")
    grid = Grid((45, 45, 29), 0.5e-3, origin=(-1.25e-3, -1.25e-3, -1.25e-3))  # centres enclose the block
    X, Y, Z = grid.mesh()
    field = linear(np.stack([X.ravel(), Y.ravel(), Z.ravel()], axis=1)).reshape(grid.shape)
    path = write_fields_to_mesh({"temperature_degC": field}, {"temperature_degC": "degC"}, grid, mesh,
                                tmp_path / "t.vtu")
    back = meshio.read(path)
    scale = 1e-12 * np.abs(field).max()
    np.testing.assert_allclose(back.point_data["temperature_degC"], linear(mesh.points), rtol=0, atol=scale)
    centroids = mesh.points[mesh.cells[0].data].mean(axis=1)
    np.testing.assert_allclose(back.cell_data["temperature_degC"][0], linear(centroids), rtol=0, atol=scale)

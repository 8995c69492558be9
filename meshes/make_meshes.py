"""Make the example meshes in this folder (deterministic; needs numpy and meshio only).

Usage::

    python meshes/make_meshes.py            # writes next to this script
    python meshes/make_meshes.py --out DIR  # writes into DIR

Files (coordinates in millimetres; mesh files carry no units):

* ``tumour_ellipsoid.stl`` - closed triangulated ellipsoid, semi-axes 4, 4, 3 mm,
  centred at (10, 10, 3.4) mm; binary STL.
* ``flank_block.vtu`` - tetrahedral mesh of the 20 x 20 x 12 mm block
  [0, 20] x [0, 20] x [0, 12] mm (z = depth, skin at z = 0), every hexahedron
  of a rectilinear grid split into 6 tetrahedra; integer cell tags in the
  cell-data array ``"tag"``: 1 skin, 2 fat, 3 muscle, 4 tumour.

See README.md for how the geometry is chosen.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import meshio
import numpy as np

#: Ellipsoid semi-axes and centre [mm].
SEMI_AXES_MM = (4.0, 4.0, 3.0)
CENTRE_MM = (10.0, 10.0, 3.4)

#: Latitude bands (pole to pole) and longitude sectors of the ellipsoid surface.
N_POLAR, N_AZIMUTH = 24, 48

#: Block size [mm] and the depths [mm] of the layer interfaces.
BLOCK_MM = (20.0, 20.0, 12.0)
SKIN_BOTTOM_MM, FAT_BOTTOM_MM = 0.4, 0.9

#: Tags of the tissues in flank_block.vtu.
TAGS = {"skin": 1, "fat": 2, "muscle": 3, "tumour": 4}


def ellipsoid_surface(semi_axes=SEMI_AXES_MM, centre=CENTRE_MM, n_polar=N_POLAR, n_azimuth=N_AZIMUTH):
    """Closed latitude-longitude triangulation of an ellipsoid, outward-oriented.

    All vertices lie on the ellipsoid. Each band between two latitudes is made
    of planar trapezoids (an affine image of a sphere's), each split into two
    triangles, so the polyhedron is convex; the caps are triangle fans.

    Returns
    -------
    points : numpy.ndarray
        ``(2 + (n_polar - 1) * n_azimuth, 3)`` vertex coordinates [mm].
    triangles : numpy.ndarray
        ``(2 * n_azimuth * (n_polar - 1), 3)`` vertex indices.
    """
    theta = np.pi * np.arange(1, n_polar) / n_polar  # polar angle of each ring
    phi = 2.0 * np.pi * np.arange(n_azimuth) / n_azimuth
    t, p = np.meshgrid(theta, phi, indexing="ij")
    unit = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1).reshape(-1, 3)
    unit = np.vstack([[0.0, 0.0, 1.0], unit, [0.0, 0.0, -1.0]])
    points = np.asarray(centre) + unit * np.asarray(semi_axes)

    north, south = 0, len(points) - 1

    def ring(r, j):  # vertex index of ring r (0 = nearest the north pole), sector j
        return 1 + r * n_azimuth + (j % n_azimuth)

    triangles = []
    for j in range(n_azimuth):
        triangles.append((north, ring(0, j), ring(0, j + 1)))
        triangles.append((south, ring(n_polar - 2, j + 1), ring(n_polar - 2, j)))
        for r in range(n_polar - 2):
            a, b = ring(r, j), ring(r, j + 1)
            c, d = ring(r + 1, j), ring(r + 1, j + 1)
            triangles.append((a, c, d))
            triangles.append((a, d, b))
    return points, np.array(triangles, dtype=np.int64)


def block_planes():
    """Coordinates [mm] of the grid planes of the block mesh along x, y, z.

    x and y: every 1 mm. z: the layer interfaces 0.4 and 0.9 mm, 0.5 mm steps
    through the tumour's depth range (0.4 to 6.4 mm) and 1 mm steps below.
    """
    xs = np.linspace(0.0, BLOCK_MM[0], 21)
    ys = np.linspace(0.0, BLOCK_MM[1], 21)
    zs = np.concatenate([[0.0, SKIN_BOTTOM_MM], np.arange(FAT_BOTTOM_MM, 7.0, 0.5), np.arange(8.0, 12.5, 1.0)])
    return xs, ys, zs


def block_tetrahedra(xs, ys, zs):
    """Split the rectilinear grid of hexahedra into tetrahedra (6 per hexahedron).

    Each hexahedron is cut along its diagonal from the corner of lowest to the
    corner of highest coordinates (Kuhn/Freudenthal subdivision), one
    tetrahedron per order of the three axis steps. Every face diagonal then
    runs from a face's lowest to its highest corner, so neighbouring
    hexahedra agree and the mesh is conforming. Tetrahedra are positively
    oriented.

    Returns
    -------
    points : numpy.ndarray
        ``(len(xs) * len(ys) * len(zs), 3)`` coordinates [mm].
    tets : numpy.ndarray
        ``(6 * n_hexahedra, 4)`` vertex indices (int32).
    """
    nx, ny, nz = len(xs), len(ys), len(zs)
    X, Y, Z = np.meshgrid(xs, ys, zs, indexing="ij")
    points = np.stack([X.ravel(), Y.ravel(), Z.ravel()], axis=1)

    def index(i, j, k):
        return (i * ny + j) * nz + k

    I, J, K = (a.ravel() for a in np.meshgrid(np.arange(nx - 1), np.arange(ny - 1), np.arange(nz - 1), indexing="ij"))
    tets = []
    for order in itertools.permutations(range(3)):
        step = np.zeros(3, dtype=np.int64)
        path = [index(I, J, K)]
        for axis in order:
            step[axis] += 1
            path.append(index(I + step[0], J + step[1], K + step[2]))
        tets.append(np.stack(path, axis=1))
    tets = np.concatenate(tets)
    a, b, c, d = (points[tets[:, n]] for n in range(4))
    negative = np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a) < 0
    tets[negative] = tets[negative][:, [0, 2, 1, 3]]
    return points, tets.astype(np.int32)


def block_tags(points, tets, semi_axes=SEMI_AXES_MM, centre=CENTRE_MM):
    """Tag of each tetrahedron from its centroid: skin, fat, muscle by depth, then the tumour ellipsoid."""
    centroid = points[tets].mean(axis=1)
    z = centroid[:, 2]
    tags = np.where(z < SKIN_BOTTOM_MM, TAGS["skin"], np.where(z < FAT_BOTTOM_MM, TAGS["fat"], TAGS["muscle"]))
    inside = np.sum(((centroid - np.asarray(centre)) / np.asarray(semi_axes)) ** 2, axis=1) <= 1.0
    tags[inside & (tags != TAGS["skin"])] = TAGS["tumour"]  # the tumour never replaces skin
    return tags.astype(np.int32)


def make(out: Path) -> list[Path]:
    """Write both meshes into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    points, triangles = ellipsoid_surface()
    stl = out / "tumour_ellipsoid.stl"
    meshio.write(stl, meshio.Mesh(points, [("triangle", triangles)]), binary=True)

    points, tets = block_tetrahedra(*block_planes())
    vtu = out / "flank_block.vtu"
    mesh = meshio.Mesh(points, [("tetra", tets)], cell_data={"tag": [block_tags(points, tets)]})
    meshio.write(vtu, mesh, binary=True, compression="zlib")
    return [stl, vtu]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="folder to write into (default: this script's folder)")
    args = parser.parse_args(argv)
    for path in make(args.out):
        print(f"{path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
